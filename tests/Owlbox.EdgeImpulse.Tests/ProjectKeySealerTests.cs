using System.Security.Cryptography;
using Owlbox.Datasets;

namespace Owlbox.EdgeImpulse.Tests;

/// <summary>A sealed project key opens for its job, its project and its deployment key only, and not once expired.</summary>
public class ProjectKeySealerTests
{
    private const string ApiKey = "ei_0123456789abcdef0123456789abcdef";
    private const string Location = "https://studio.edgeimpulse.com:443/v1#42";
    private static readonly Guid s_job = Guid.NewGuid();
    private static readonly DateTimeOffset s_now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly ProjectKeySealer s_sealer = new(new Dictionary<string, string>
    {
        ["k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["k2"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    });

    [Fact]
    public void Sealed_OpensForItsJobAndProject_AndNeverCarriesTheKey()
    {
        var sealedKey = s_sealer.Seal("k1", ApiKey, s_job, Location, s_now.AddHours(1));

        Assert.Equal(ApiKey, s_sealer.Open(sealedKey, s_job, Location, s_now));
        Assert.DoesNotContain(ApiKey, sealedKey.ToJson(), StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", sealedKey.ToJson(), StringComparison.Ordinal);
        Assert.Equal(ApiKey, s_sealer.Open(SealedProjectKey.FromJson(sealedKey.ToJson()), s_job, Location, s_now));
        Assert.NotEqual(sealedKey.Ciphertext, s_sealer.Seal("k1", ApiKey, s_job, Location, s_now.AddHours(1)).Ciphertext); // fresh nonce
    }

    public static TheoryData<string, Func<SealedProjectKey, (SealedProjectKey Key, Guid Job, string Location, DateTimeOffset Now)>, string> Refusals => new()
    {
        { "another job", k => (k, Guid.NewGuid(), Location, s_now), "not sealed for this job" },
        { "another project", k => (k, s_job, "https://studio.edgeimpulse.com:443/v1#43", s_now), "not sealed for this job" },
        { "another endpoint", k => (k, s_job, "http://evil.example:80/v1#42", s_now), "not sealed for this job" },
        { "expired", k => (k, s_job, Location, s_now.AddHours(2)), "expired" },
        { "a later expiry written in", k => (k with { ExpiresUtc = s_now.AddDays(30) }, s_job, Location, s_now), "not sealed for this job" },
        { "a key id this deployment lacks", k => (k with { KeyId = "k9" }, s_job, Location, s_now), "does not hold" },
        { "another deployment key", k => (k with { KeyId = "k2" }, s_job, Location, s_now), "not sealed for this job" },
        { "altered ciphertext", k => (k with { Ciphertext = Flip(k.Ciphertext) }, s_job, Location, s_now), "not sealed for this job" },
        { "not base64", k => (k with { Nonce = "%%%" }, s_job, Location, s_now), "not sealed for this job" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refused(string what, Func<SealedProjectKey, (SealedProjectKey Key, Guid Job, string Location, DateTimeOffset Now)> change, string message)
    {
        var (key, job, location, now) = change(s_sealer.Seal("k1", ApiKey, s_job, Location, s_now.AddHours(1)));

        var e = Assert.Throws<DatasetException>(() => s_sealer.Open(key, job, location, now));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Theory]
    [InlineData("c2hvcnQ=")] // 5 bytes
    [InlineData("not base64 at all")]
    public void ADeploymentKeyThatIsNot32Bytes_IsRefusedAtStartUp(string base64) =>
        Assert.Throws<ArgumentException>(() => new ProjectKeySealer(new Dictionary<string, string> { ["bad"] = base64 }));

    [Fact]
    public void AnEmptyDeploymentKey_IsNoKey_SoNothingOpens()
    {
        var sealer = new ProjectKeySealer(new Dictionary<string, string> { ["k1"] = "" }); // compose's ${OWLBOX_SEALING_KEY_K1:-} unset

        Assert.False(sealer.HasKeys);
        var e = Assert.Throws<DatasetException>(() => sealer.Open(s_sealer.Seal("k1", ApiKey, s_job, Location, s_now.AddHours(1)), s_job, Location, s_now));
        Assert.Contains("does not hold", e.Message, StringComparison.Ordinal);
    }

    private static string Flip(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        bytes[0] ^= 1;
        return Convert.ToBase64String(bytes);
    }
}
