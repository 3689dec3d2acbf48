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

    /// <summary>Reads a kept encoding. Give it back with <see cref="Return"/> once scored, unless it is kept
    /// elsewhere: its arrays then hold the next image read (at the speed of a re-prompt, fresh arrays for every image
    /// cost more than reading them: page faults and full collections).</summary>
    public bool TryRead(string key, out CachedImage image)
    {
        image = null!;
        var path = PathFor(key);
        CachedImage? read;
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = Read(file);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
        if (read is null)
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
        image = read;
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
        var length = HeaderBytes + 4 * image.Boxes.Length + 2 * image.ClassEmbeddings.Length + 4 * image.Shift.Length + 4 * image.Scale.Length + 8;
        var bytes = new byte[length];
        var span = bytes.AsSpan();
        WriteHeader(span, image);
        var at = HeaderBytes;
        for (var i = 0; i < PartCount; i++)
        {
            var part = Part(image, i);
            part.CopyTo(span[at..]);
            at += part.Length;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], XxHash3.HashToUInt64(span[..at]));
        return bytes;
    }

    private static int HeaderBytes => Magic.Length + 4 * HeaderInts;

    private static void WriteHeader(Span<byte> span, CachedImage image)
    {
        Magic.CopyTo(span);
        var at = Magic.Length;
        foreach (var v in new[] { image.Width, image.Height, image.Dimension, image.Boxes.Length, image.ClassEmbeddings.Length, image.Shift.Length, image.Scale.Length })
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], v);
            at += 4;
        }
    }

    private const int PartCount = 4;

    /// <summary>The arrays in file order, as bytes: read and written in place, no intermediate copy.</summary>
    private static Span<byte> Part(CachedImage image, int index) => index switch
    {
        0 => MemoryMarshal.AsBytes(image.Boxes.AsSpan()),
        1 => MemoryMarshal.AsBytes(image.ClassEmbeddings.AsSpan()),
        2 => MemoryMarshal.AsBytes(image.Shift.AsSpan()),
        _ => MemoryMarshal.AsBytes(image.Scale.AsSpan()),
    };

    private const int SpareLimit = 16;
    private readonly System.Collections.Concurrent.ConcurrentQueue<CachedImage> _spares = new();

    /// <summary>The arrays of an image read by <see cref="TryRead"/>, free for the next read.</summary>
    public void Return(CachedImage image)
    {
        if (_spares.Count < SpareLimit)
        {
            _spares.Enqueue(image);
        }
    }

    private CachedImage Arrays(int width, int height, int boxes, int embeddings, int patches, int dimension)
    {
        // Every image of one model has the same shape, so a spare almost always fits.
        if (_spares.TryDequeue(out var spare) && spare.Boxes.Length == boxes && spare.ClassEmbeddings.Length == embeddings && spare.Shift.Length == patches)
        {
            return spare with { Width = width, Height = height, Dimension = dimension };
        }
        return new CachedImage(width, height, new float[boxes], new Half[embeddings], new float[patches], new float[patches], dimension);
    }

    /// <summary>Reads a file straight into the arrays it describes, hashing as it goes: null when the header, the
    /// length or the hash does not check out.</summary>
    private CachedImage? Read(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (length < HeaderBytes + 8 || !ReadExactly(file, header, 0) || !header.StartsWith(Magic))
        {
            return null;
        }
        var h = MemoryMarshal.Cast<byte, int>(header[Magic.Length..]);
        var (width, height, dimension, boxes, embeddings, shift, scale) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
        if (boxes < 0 || embeddings < 0 || shift <= 0 || scale != shift || dimension <= 0 || boxes != 4 * shift || embeddings != (long)shift * dimension
            || HeaderBytes + 4L * boxes + 2L * embeddings + 4L * shift + 4L * scale + 8 != length)
        {
            return null;
        }
        var image = Arrays(width, height, boxes, embeddings, shift, dimension);
        var hash = new XxHash3();
        hash.Append(header);
        long at = HeaderBytes;
        for (var i = 0; i < PartCount; i++)
        {
            var part = Part(image, i);
            if (!ReadExactly(file, part, at))
            {
                Return(image);
                return null;
            }
            hash.Append(part);
            at += part.Length;
        }
        Span<byte> stored = stackalloc byte[8];
        if (ReadExactly(file, stored, at) && BinaryPrimitives.ReadUInt64LittleEndian(stored) == hash.GetCurrentHashAsUInt64())
        {
            return image;
        }
        Return(image);
        return null;
    }

    private static bool ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            var n = RandomAccess.Read(file, buffer, offset);
            if (n <= 0)
            {
                return false;
            }
            buffer = buffer[n..];
            offset += n;
        }
        return true;
    }
}
