using System.Text.Json;
using System.Text.Json.Serialization;

namespace Owlbox.Verification;

/// <summary>A model's answer as it was given, kept so a re-run asks nothing it has asked before. The verdict is judged
/// again on read (the current label and the disable words can change without the answer changing).</summary>
public sealed record CachedAnswer(string Model, string RawAnswer, DateTimeOffset AnsweredAt);

/// <summary>Where answers are kept, by <see cref="AnswerCacheKey"/>.</summary>
public interface IAnswerCache
{
    /// <summary>The answer stored under the key, or null (a missing or unreadable entry is a miss, never an error).</summary>
    ValueTask<CachedAnswer?> TryGetAsync(string key, CancellationToken cancellationToken);

    ValueTask PutAsync(string key, CachedAnswer answer, CancellationToken cancellationToken);
}

/// <summary>Caches nothing (every box is asked).</summary>
public sealed class NoAnswerCache : IAnswerCache
{
    public static readonly NoAnswerCache Instance = new();

    public ValueTask<CachedAnswer?> TryGetAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<CachedAnswer?>(null);

    public ValueTask PutAsync(string key, CachedAnswer answer, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// One small JSON file per answer under a directory (for a dataset, its <c>.owlbox/llm-answers/</c>), fanned out by
/// the key's first two hex digits. Each file is written to a temporary name beside it and renamed into place, so a
/// reader (or a process killed mid-write) sees a whole entry or none; an entry that is torn, damaged or for another key
/// reads as a miss, and the next answer overwrites it. Concurrent writers of one key write the same answer; the last
/// rename wins.
/// </summary>
public sealed class FileAnswerCache : IAnswerCache
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public FileAnswerCache(string directory)
    {
        Directory = Path.GetFullPath(directory);
    }

    public string Directory { get; }

    public string PathOf(string key)
    {
        if (key.Length < 8 || !key.All(char.IsAsciiHexDigitLower))
        {
            // Keys are our own hex; anything else would let a caller write outside the directory.
            throw new ArgumentException("a cache key is lower-case hex", nameof(key));
        }
        return Path.Combine(Directory, key[..2], key + ".json");
    }

    public async ValueTask<CachedAnswer?> TryGetAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        try
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            var entry = JsonSerializer.Deserialize<Entry>(bytes, Json);
            if (entry is null || entry.Key != key || entry.Model is null || entry.Answer is null)
            {
                return null;
            }
            return new CachedAnswer(entry.Model, entry.Answer, entry.At);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public async ValueTask PutAsync(string key, CachedAnswer answer, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        var dir = Path.GetDirectoryName(path)!;
        System.IO.Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new Entry(key, answer.Model, answer.RawAnswer, answer.AnsweredAt), Json);
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
            {
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private sealed record Entry(
        [property: JsonPropertyName("key")] string Key,
        [property: JsonPropertyName("model")] string? Model,
        [property: JsonPropertyName("answer")] string? Answer,
        [property: JsonPropertyName("at")] DateTimeOffset At);
}
