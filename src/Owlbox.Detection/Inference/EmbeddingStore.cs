using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Owlbox.Detection.Inference;

/// <summary>
/// Encoded images on disk, so a new prompt over a seen dataset costs the class head only, in a later process too (the
/// CLI's next run, a restarted detector). One file per model and image content under <see cref="Directory"/>:
/// class embeddings stored as fp16 (half the bytes; logits move by about 1e-3), boxes, shift and scale as fp32.
/// Safe with several processes: a file is written under a unique temporary name and renamed into place (readers see
/// the old file or the new, never half of one); every file ends with an XxHash3 of its content and a file that does
/// not check out (torn by a crash, damaged) is a miss and is deleted. Bounded: past <see cref="MaxBytes"/> the least
/// recently used files (a hit touches its file) are deleted down to 90 %.
/// </summary>
public sealed class EmbeddingStore
{
    private static ReadOnlySpan<byte> Magic => "OWLEMB01"u8;
    private const int HeaderInts = 7;
    private readonly Lock _sizeLock = new();
    private long _bytes = -1;

    public EmbeddingStore(string directory, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        Directory = Path.GetFullPath(directory);
        MaxBytes = maxBytes;
    }

    public string Directory { get; }
    public long MaxBytes { get; }

    public string PathFor(string key)
    {
        var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        return Path.Combine(Directory, name[..2], name + ".emb");
    }

    public bool TryRead(string key, out CachedImage image)
    {
        image = null!;
        var path = PathFor(key);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
        if (Decode(bytes) is not { } decoded)
        {
            TryDelete(path); // torn or damaged: recomputed and rewritten by the caller
            return false;
        }
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow); // recently used: evicted last
        }
        catch (IOException)
        {
        }
        image = decoded;
        return true;
    }

    public void Write(string key, CachedImage image)
    {
        var path = PathFor(key);
        var bytes = Encode(image);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp); // a full or read-only disk costs the cache, not the job
            return;
        }
        bool over;
        lock (_sizeLock)
        {
            _bytes = (_bytes < 0 ? Measure() : _bytes + bytes.Length);
            over = _bytes > MaxBytes;
        }
        if (over)
        {
            Evict();
        }
    }

    /// <summary>Deletes the least recently used files down to 90 % of the bound, and temporary files an interrupted
    /// writer left over an hour ago. Other processes may evict too: the count is re-measured from the folder.</summary>
    public void Evict()
    {
        var files = Files().ToList();
        foreach (var stale in files.Where(f => f.Name.EndsWith(".tmp", StringComparison.Ordinal) && f.LastWriteTimeUtc < DateTime.UtcNow.AddHours(-1)))
        {
            TryDelete(stale.FullName);
        }
        var entries = files.Where(f => f.Name.EndsWith(".emb", StringComparison.Ordinal)).OrderBy(f => f.LastWriteTimeUtc).ToList();
        var total = entries.Sum(f => f.Length);
        var target = MaxBytes / 10 * 9;
        foreach (var f in entries)
        {
            if (total <= target)
            {
                break;
            }
            if (TryDelete(f.FullName))
            {
                total -= f.Length;
            }
        }
        lock (_sizeLock)
        {
            _bytes = total;
        }
    }

    private long Measure() => Files().Where(f => f.Name.EndsWith(".emb", StringComparison.Ordinal)).Sum(f => f.Length);

    private IEnumerable<FileInfo> Files() =>
        System.IO.Directory.Exists(Directory)
            ? new DirectoryInfo(Directory).EnumerateFiles("*", SearchOption.AllDirectories)
            : [];

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Magic, then width, height, dimension and the four array lengths, then boxes (fp32), class embeddings
    /// (fp16), shift and scale (fp32), then the XxHash3 of everything before it.</summary>
    public static byte[] Encode(CachedImage image)
    {
        var f = image.Features;
        var length = Magic.Length + 4 * HeaderInts + 4 * image.Boxes.Length + 2 * f.ClassEmbeddings.Length + 4 * f.Shift.Length + 4 * f.Scale.Length + 8;
        var bytes = new byte[length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        var at = Magic.Length;
        foreach (var v in new[] { image.Width, image.Height, f.Dimension, image.Boxes.Length, f.ClassEmbeddings.Length, f.Shift.Length, f.Scale.Length })
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], v);
            at += 4;
        }
        at = Put(span, at, image.Boxes);
        var halves = MemoryMarshal.Cast<byte, Half>(span.Slice(at, 2 * f.ClassEmbeddings.Length));
        for (var i = 0; i < f.ClassEmbeddings.Length; i++)
        {
            halves[i] = (Half)f.ClassEmbeddings[i];
        }
        at += 2 * f.ClassEmbeddings.Length;
        at = Put(span, at, f.Shift);
        at = Put(span, at, f.Scale);
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], XxHash3.HashToUInt64(span[..at]));
        return bytes;
    }

    public static CachedImage? Decode(byte[] bytes)
    {
        var span = bytes.AsSpan();
        var headerEnd = Magic.Length + 4 * HeaderInts;
        if (span.Length < headerEnd + 8 || !span.StartsWith(Magic)
            || BinaryPrimitives.ReadUInt64LittleEndian(span[^8..]) != XxHash3.HashToUInt64(span[..^8]))
        {
            return null;
        }
        var h = MemoryMarshal.Cast<byte, int>(span[Magic.Length..headerEnd]).ToArray();
        var (width, height, dimension, boxes, embeddings, shift, scale) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
        if (headerEnd + 4L * boxes + 2L * embeddings + 4L * shift + 4L * scale + 8 != span.Length)
        {
            return null;
        }
        var at = headerEnd;
        var boxValues = Take(span, ref at, boxes);
        var halves = MemoryMarshal.Cast<byte, Half>(span.Slice(at, 2 * embeddings));
        var embeddingValues = new float[embeddings];
        for (var i = 0; i < embeddings; i++)
        {
            embeddingValues[i] = (float)halves[i];
        }
        at += 2 * embeddings;
        var shiftValues = Take(span, ref at, shift);
        var scaleValues = Take(span, ref at, scale);
        return new CachedImage(width, height, boxValues, new ImageFeatures(embeddingValues, shiftValues, scaleValues, dimension));
    }

    private static int Put(Span<byte> span, int at, float[] values)
    {
        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(span[at..]);
        return at + 4 * values.Length;
    }

    private static float[] Take(ReadOnlySpan<byte> span, ref int at, int count)
    {
        var values = MemoryMarshal.Cast<byte, float>(span.Slice(at, 4 * count)).ToArray();
        at += 4 * count;
        return values;
    }
}
