using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Owlbox.Detection.Inference;

/// <summary>
/// Encoded images on disk, so a new prompt over a seen dataset costs the class head only, in a later process too (the
/// CLI's next run, a restarted detector). One file per model and image content under <see cref="Directory"/>:
/// class embeddings stored as fp16 (half the bytes; logits move by about 1e-3), boxes, shift, scale and OWLv2's
/// objectness (none for a model without it) as fp32.
/// Safe with several processes: a file is written under a unique temporary name and renamed into place (readers see
/// the old file or the new, never half of one); every file carries its full key (encoding identity and the image's
/// SHA-256) and ends with an XxHash3 of its content; a file that does not check out (torn by a crash, damaged, another
/// key's file in its place, an older format) is a miss and is deleted. Bounded: past <see cref="MaxBytes"/> the least
/// recently used files (a hit touches its file) are deleted down to 90 %.
/// Only a cache: no failure of its own (a folder that cannot be created, a full or read-only disk, an unreadable
/// file) reaches the caller, which detects afresh. The first is reported once through the warning callback; after
/// <see cref="WriteFailureLimit"/> failed writes in a row the store stops writing for the rest of the process. It
/// never goes through a symbolic link: its folder, a shard folder or a file being one turns the store off (one
/// warning naming it), and its folder walks skip links and go two levels deep at most, so a link loop costs nothing.
/// </summary>
public sealed class EmbeddingStore
{
    /// <summary>02: the key in the header; 03: objectness per patch. Files of another version are misses, replaced as
    /// they are met.</summary>
    private static ReadOnlySpan<byte> Magic => "OWLEMB03"u8;
    private const int HeaderInts = 8;
    private const int MaxKeyBytes = 64 * 1024;
    public const int WriteFailureLimit = 3;
    private readonly Lock _sizeLock = new();
    private readonly Action<string> _warn;
    private long _bytes = -1;
    private int _warned;
    private int _writeFailures;
    private int _writesStopped;
    private int _off;

    /// <param name="warn">Told, once each, the first failure, that writes stopped, and that a link turned the store
    /// off: one line each, never one per image.</param>
    public EmbeddingStore(string directory, long maxBytes, Action<string>? warn = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        Directory = Path.GetFullPath(directory);
        MaxBytes = maxBytes;
        _warn = warn ?? (_ => { });
    }

    public string Directory { get; }
    public long MaxBytes { get; }

    /// <summary>A link was found on the way to a file: nothing is read or written any more.</summary>
    public bool Off => Volatile.Read(ref _off) != 0;

    /// <summary>Writes failed <see cref="WriteFailureLimit"/> times in a row: reads go on, writes are not tried.</summary>
    public bool WritesStopped => Volatile.Read(ref _writesStopped) != 0 || Off;

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
        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (Off || keyBytes.Length > MaxKeyBytes)
        {
            return false;
        }
        var path = PathFor(key);
        if (LinkOnTheWay(path))
        {
            return false;
        }
        CachedImage? read;
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = Read(file, keyBytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false; // not kept yet
        }
        catch (Exception e) when (IsCacheFailure(e))
        {
            WarnOnce($"could not read '{path}' ({e.Message})");
            return false;
        }
        if (read is null)
        {
            TryDelete(path); // torn, damaged or another key's: recomputed and rewritten by the caller
            return false;
        }
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow); // recently used: evicted last
        }
        catch (Exception e) when (IsCacheFailure(e))
        {
            // Only the eviction order suffers.
        }
        image = read;
        return true;
    }

    public void Write(string key, CachedImage image)
    {
        if (WritesStopped || Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            return;
        }
        var path = PathFor(key);
        var shard = Path.GetDirectoryName(path)!;
        string? temp = null;
        int written;
        try
        {
            if (LinkOnTheWay(shard))
            {
                return;
            }
            System.IO.Directory.CreateDirectory(shard);
            if (LinkOnTheWay(shard)) // one swapped in meanwhile: nothing is written through it
            {
                return;
            }
            var bytes = Encode(key, image);
            temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true); // a rename replaces whatever is at the path, a link too, never its target
            written = bytes.Length;
            Volatile.Write(ref _writeFailures, 0);
        }
        catch (Exception e) when (IsCacheFailure(e))
        {
            if (temp is not null)
            {
                TryDelete(temp);
            }
            WriteFailed(path, e);
            return;
        }
        bool over;
        lock (_sizeLock)
        {
            _bytes = (_bytes < 0 ? Measure() : _bytes + written);
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
        var files = Files();
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

    /// <summary>The files in the shard folders. Links are neither followed nor listed and the walk stops at the shard
    /// level, so it ends whatever else is in the folder; a folder that cannot be read is an empty one (warned once).</summary>
    private List<FileInfo> Files()
    {
        if (Off || LinkOnTheWay(Directory) || !System.IO.Directory.Exists(Directory))
        {
            return [];
        }
        var options = new EnumerationOptions
        {
            AttributesToSkip = FileAttributes.ReparsePoint,
            RecurseSubdirectories = true,
            MaxRecursionDepth = 1,
            IgnoreInaccessible = true,
        };
        try
        {
            return new DirectoryInfo(Directory).EnumerateFiles("*", options).ToList();
        }
        catch (Exception e) when (IsCacheFailure(e))
        {
            WarnOnce($"could not list '{Directory}' ({e.Message})");
            return [];
        }
    }

    /// <summary>Whether a link stands between <see cref="Directory"/> (itself included) and <paramref name="path"/>
    /// inside it; the first one found turns the store off.</summary>
    private bool LinkOnTheWay(string path)
    {
        var parent = Path.GetDirectoryName(Directory)!;
        var components = Path.GetRelativePath(parent, path).Split(Path.DirectorySeparatorChar);
        if (Datasets.OwlboxFolder.FirstLink(parent, components) is not { } link)
        {
            return false;
        }
        if (Interlocked.Exchange(ref _off, 1) == 0)
        {
            _warn($"embedding cache off: '{link}' is a symbolic link, and the cache never reads or writes through one; detection goes on without it");
        }
        return true;
    }

    private void WriteFailed(string path, Exception e)
    {
        WarnOnce($"could not write '{path}' ({e.Message})");
        if (Interlocked.Increment(ref _writeFailures) >= WriteFailureLimit && Interlocked.Exchange(ref _writesStopped, 1) == 0)
        {
            _warn($"embedding cache: {WriteFailureLimit} writes in a row failed; this process writes no more encodings to '{Directory}'");
        }
    }

    private void WarnOnce(string problem)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0)
        {
            _warn($"embedding cache: {problem}; detection goes on, only the cache misses out (later cache failures are not reported)");
        }
    }

    private static bool IsCacheFailure(Exception e) => e is IOException or UnauthorizedAccessException or System.Security.SecurityException;

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (IsCacheFailure(e))
        {
            return false;
        }
    }

    /// <summary>Magic, the key's length and UTF-8 bytes, then width, height, dimension and the five array lengths,
    /// then boxes (fp32), class embeddings (fp16), shift, scale and objectness (fp32; length 0 when the model has
    /// none), then the XxHash3 of everything before it.</summary>
    public static byte[] Encode(string key, CachedImage image)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        var headerBytes = HeaderBytes(keyBytes.Length);
        var length = headerBytes + 4 * image.Boxes.Length + 2 * image.ClassEmbeddings.Length + 4 * image.Shift.Length + 4 * image.Scale.Length + 4 * image.Objectness.Length + 8;
        var bytes = new byte[length];
        var span = bytes.AsSpan();
        WriteHeader(span, keyBytes, image);
        var at = headerBytes;
        for (var i = 0; i < PartCount; i++)
        {
            var part = Part(image, i);
            part.CopyTo(span[at..]);
            at += part.Length;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], XxHash3.HashToUInt64(span[..at]));
        return bytes;
    }

    private static int HeaderBytes(int keyBytes) => Magic.Length + 4 + keyBytes + 4 * HeaderInts;

    private static void WriteHeader(Span<byte> span, ReadOnlySpan<byte> key, CachedImage image)
    {
        Magic.CopyTo(span);
        var at = Magic.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], key.Length);
        key.CopyTo(span[(at + 4)..]);
        at += 4 + key.Length;
        foreach (var v in new[] { image.Width, image.Height, image.Dimension, image.Boxes.Length, image.ClassEmbeddings.Length, image.Shift.Length, image.Scale.Length, image.Objectness.Length })
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], v);
            at += 4;
        }
    }

    private const int PartCount = 5;

    /// <summary>The arrays in file order, as bytes: read and written in place, no intermediate copy.</summary>
    private static Span<byte> Part(CachedImage image, int index) => index switch
    {
        0 => MemoryMarshal.AsBytes(image.Boxes.AsSpan()),
        1 => MemoryMarshal.AsBytes(image.ClassEmbeddings.AsSpan()),
        2 => MemoryMarshal.AsBytes(image.Shift.AsSpan()),
        3 => MemoryMarshal.AsBytes(image.Scale.AsSpan()),
        _ => MemoryMarshal.AsBytes(image.Objectness.AsSpan()),
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

    private CachedImage Arrays(int width, int height, int boxes, int embeddings, int patches, int dimension, int objectness)
    {
        // Every image of one model has the same shape, so a spare almost always fits.
        if (_spares.TryDequeue(out var spare) && spare.Boxes.Length == boxes && spare.ClassEmbeddings.Length == embeddings && spare.Shift.Length == patches
            && spare.Objectness.Length == objectness)
        {
            return spare with { Width = width, Height = height, Dimension = dimension };
        }
        return new CachedImage(width, height, new float[boxes], new Half[embeddings], new float[patches], new float[patches], dimension, new float[objectness]);
    }

    /// <summary>Reads a file straight into the arrays it describes, hashing as it goes: null when the header (the key
    /// included), the length or the hash does not check out.</summary>
    private CachedImage? Read(Microsoft.Win32.SafeHandles.SafeFileHandle file, ReadOnlySpan<byte> key)
    {
        var length = RandomAccess.GetLength(file);
        var headerBytes = HeaderBytes(key.Length);
        Span<byte> header = headerBytes <= 1024 ? stackalloc byte[headerBytes] : new byte[headerBytes];
        if (length < headerBytes + 8 || !ReadExactly(file, header, 0) || !header.StartsWith(Magic)
            || BinaryPrimitives.ReadInt32LittleEndian(header[Magic.Length..]) != key.Length
            || !header.Slice(Magic.Length + 4, key.Length).SequenceEqual(key))
        {
            return null; // another format, or another image's (or model's) encoding in this one's place
        }
        Span<int> h = stackalloc int[HeaderInts];
        for (var i = 0; i < HeaderInts; i++)
        {
            h[i] = BinaryPrimitives.ReadInt32LittleEndian(header[(Magic.Length + 4 + key.Length + 4 * i)..]);
        }
        var (width, height, dimension, boxes, embeddings, shift, scale, objectness) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
        if (width <= 0 || height <= 0 || boxes < 0 || embeddings < 0 || shift <= 0 || scale != shift || dimension <= 0 || boxes != 4 * shift
            || embeddings != (long)shift * dimension || (objectness != 0 && objectness != shift)
            || headerBytes + 4L * boxes + 2L * embeddings + 4L * shift + 4L * scale + 4L * objectness + 8 != length)
        {
            return null;
        }
        var image = Arrays(width, height, boxes, embeddings, shift, dimension, objectness);
        var hash = new XxHash3();
        hash.Append(header);
        long at = headerBytes;
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
