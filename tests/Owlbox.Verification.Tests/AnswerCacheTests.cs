namespace Owlbox.Verification.Tests;

public sealed class AnswerCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("owlbox-answers-").FullName;

    private static readonly byte[] Crop = [1, 2, 3, 4];

    private static string Key(byte[]? crop = null, string model = "m", string prompt = "p", string detail = "auto", string[]? allowed = null) =>
        AnswerCacheKey.Compute(crop ?? Crop, model, prompt, detail, allowed ?? ["red", "green"]);

    [Fact]
    public void The_key_is_stable_hex_and_ignores_the_order_and_case_of_the_allowed_answers()
    {
        var k = Key();
        Assert.Matches("^[0-9a-f]{64}$", k);
        Assert.Equal(k, Key());
        Assert.Equal(k, Key(allowed: ["Green", "red", "RED"]));
    }

    [Fact]
    public void Every_field_changes_the_key()
    {
        var keys = new[]
        {
            Key(), Key(crop: [1, 2, 3, 5]), Key(model: "m2"), Key(prompt: "p2"), Key(detail: "low"), Key(allowed: ["red"]),
            Key(allowed: ["red", "green", "blue"]),
            // Field boundaries are length-prefixed: "ab"+"c" is not "a"+"bc".
            Key(model: "mp", prompt: ""), Key(model: "", prompt: "mp"),
        };
        Assert.Equal(keys.Length, keys.Distinct().Count());
    }

    [Fact]
    public async Task Answers_round_trip_and_a_missing_entry_is_a_miss()
    {
        var cache = new FileAnswerCache(Path.Combine(_dir, "not-yet"));
        Assert.Null(await cache.TryGetAsync(Key(), default));
        var answer = new CachedAnswer("gpt-4o", "Red.", DateTimeOffset.UnixEpoch);
        await cache.PutAsync(Key(), answer, default);
        Assert.Equal(answer, await cache.TryGetAsync(Key(), default));
        // Written by rename: no temporary file stays behind.
        Assert.Single(Directory.GetFiles(cache.Directory, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"key\":\"")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    [InlineData("{\"key\":\"KEY\",\"model\":\"m\"}")]
    [InlineData("\u0000\u0001garbage")]
    public async Task A_corrupt_entry_is_a_miss_and_the_next_answer_replaces_it(string content)
    {
        var cache = new FileAnswerCache(_dir);
        var key = Key();
        Directory.CreateDirectory(Path.GetDirectoryName(cache.PathOf(key))!);
        await File.WriteAllTextAsync(cache.PathOf(key), content.Replace("KEY", key, StringComparison.Ordinal));
        Assert.Null(await cache.TryGetAsync(key, default));
        await cache.PutAsync(key, new CachedAnswer("m", "green", DateTimeOffset.UnixEpoch), default);
        Assert.Equal("green", (await cache.TryGetAsync(key, default))?.RawAnswer);
    }

    [Fact]
    public async Task An_entry_copied_under_another_key_is_a_miss()
    {
        var cache = new FileAnswerCache(_dir);
        await cache.PutAsync(Key(), new CachedAnswer("m", "red", DateTimeOffset.UnixEpoch), default);
        var other = Key(model: "other");
        Directory.CreateDirectory(Path.GetDirectoryName(cache.PathOf(other))!);
        File.Copy(cache.PathOf(Key()), cache.PathOf(other));
        Assert.Null(await cache.TryGetAsync(other, default));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("ABCDEF0123")]
    [InlineData("abc")]
    public void A_key_that_is_not_lower_case_hex_is_refused(string key) =>
        Assert.Throws<ArgumentException>(() => new FileAnswerCache(_dir).PathOf(key));

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
