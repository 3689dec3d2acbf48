using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Owlbox.Datasets;

namespace Owlbox.EdgeImpulse;

/// <summary>A project API key sealed for one deployment and one job: AES-256-GCM under a deployment key named by
/// <see cref="KeyId"/>, bound to the job, the project location and the expiry (associated data), so it opens for that
/// job's project only, and not after it expires.</summary>
public sealed record SealedProjectKey(string KeyId, string Nonce, string Ciphertext, DateTimeOffset ExpiresUtc)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public static SealedProjectKey FromJson(string json) =>
        JsonSerializer.Deserialize<SealedProjectKey>(json, s_json) ?? throw new DatasetException("the job's sealed project key is empty");
}

/// <summary>
/// Seals and opens project keys with the deployment's keys (<c>Owlbox:EdgeImpulse:SealingKeys:&lt;id&gt;</c>, 32 bytes
/// in base64, from a Kubernetes Secret): the block seals its <c>EI_PROJECT_API_KEY</c> for its job; the gateway,
/// fetchers and writers of that job open it. On the bus and in the store only the sealed form exists.
/// </summary>
public sealed class ProjectKeySealer
{
    private readonly Dictionary<string, byte[]> _keys;

    public ProjectKeySealer(IReadOnlyDictionary<string, string> keys)
    {
        _keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (id, base64) in keys.Where(k => !string.IsNullOrWhiteSpace(k.Value))) // an unset variable is no key
        {
            var bytes = Convert.TryFromBase64String(base64, new byte[64], out var n) && n == 32 ? Convert.FromBase64String(base64) : null;
            _keys[id] = bytes ?? throw new ArgumentException($"Owlbox:EdgeImpulse:SealingKeys:{id} must be 32 bytes in base64");
        }
    }

    public bool HasKeys => _keys.Count > 0;

    public SealedProjectKey Seal(string keyId, string apiKey, Guid jobId, string location, DateTimeOffset expiresUtc)
    {
        var key = _keys.TryGetValue(keyId, out var k) ? k : throw new ArgumentException($"no sealing key '{keyId}' (Owlbox:EdgeImpulse:SealingKeys)");
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var plain = Encoding.UTF8.GetBytes(apiKey);
        var cipher = new byte[plain.Length + 16];
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(nonce, plain, cipher.AsSpan(0, plain.Length), cipher.AsSpan(plain.Length), AssociatedData(jobId, location, expiresUtc));
        return new SealedProjectKey(keyId, Convert.ToBase64String(nonce), Convert.ToBase64String(cipher), expiresUtc);
    }

    /// <summary>The key, or <see cref="DatasetException"/> when it cannot be opened here: an unknown deployment key,
    /// expired, or not sealed for this job and project (altered, or copied from another job).</summary>
    public string Open(SealedProjectKey sealedKey, Guid jobId, string location, DateTimeOffset now)
    {
        if (now > sealedKey.ExpiresUtc)
        {
            throw new DatasetException($"the job's project key expired at {sealedKey.ExpiresUtc:u}");
        }
        if (!_keys.TryGetValue(sealedKey.KeyId, out var key))
        {
            throw new DatasetException($"the job's project key is sealed with '{sealedKey.KeyId}', which this deployment does not hold (Owlbox:EdgeImpulse:SealingKeys)");
        }
        try
        {
            var cipher = Convert.FromBase64String(sealedKey.Ciphertext);
            var plain = new byte[cipher.Length - 16];
            using var aes = new AesGcm(key, 16);
            aes.Decrypt(Convert.FromBase64String(sealedKey.Nonce), cipher.AsSpan(0, plain.Length), cipher.AsSpan(plain.Length), plain,
                AssociatedData(jobId, location, sealedKey.ExpiresUtc));
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception e) when (e is AuthenticationTagMismatchException or FormatException or ArgumentException or OverflowException)
        {
            throw new DatasetException("the job's project key was not sealed for this job and project");
        }
    }

    private static byte[] AssociatedData(Guid jobId, string location, DateTimeOffset expiresUtc) =>
        Encoding.UTF8.GetBytes($"owlbox-project-key|{jobId:N}|{location}|{expiresUtc.UtcTicks}");
}
