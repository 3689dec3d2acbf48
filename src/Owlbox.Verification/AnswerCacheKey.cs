using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Owlbox.Verification;

/// <summary>
/// The key an answer is cached under: SHA-256 over the crop's bytes hash, the model, the prompt, the image detail and
/// the allowed answers (sorted, de-duplicated, case-folded, so their order in an option does not matter), each
/// length-prefixed so no two field lists hash the same bytes. Lower-case hex, 64 characters.
/// </summary>
/// <remarks>The detail level is in the key because a low-detail look can answer differently from a high one. The
/// endpoint is not: the model name is what answers; two servers serving one model name share answers.</remarks>
public static class AnswerCacheKey
{
    /// <summary>Bumped when what the key covers changes, so old entries become misses instead of wrong answers.</summary>
    private const string Version = "owlbox-verify-1";

    public static string Compute(ReadOnlySpan<byte> crop, string model, string prompt, string detail, IEnumerable<string> allowed)
    {
        Span<byte> cropHash = stackalloc byte[32];
        SHA256.HashData(crop, cropHash);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendField(sha, Encoding.UTF8.GetBytes(Version));
        AppendField(sha, cropHash);
        AppendField(sha, Encoding.UTF8.GetBytes(model));
        AppendField(sha, Encoding.UTF8.GetBytes(prompt));
        AppendField(sha, Encoding.UTF8.GetBytes(detail.ToLowerInvariant()));
        var sorted = allowed.Select(a => a.Trim().ToLowerInvariant()).Where(a => a.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();
        Span<byte> count = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(count, sorted.Count);
        sha.AppendData(count);
        foreach (var a in sorted)
        {
            AppendField(sha, Encoding.UTF8.GetBytes(a));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static void AppendField(IncrementalHash sha, ReadOnlySpan<byte> field)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, field.Length);
        sha.AppendData(length);
        sha.AppendData(field);
    }
}
