using System.Security.Cryptography;

namespace Owlbox.Detection.Inference;

/// <summary>An encoded image as the cache keeps it, in memory and on disk alike: its display size, per-patch boxes,
/// shift and scale (fp32: boxes come back exact) and class embeddings in fp16 (half the bytes; a logit moves by about
/// 1e-3 of its value). <see cref="Objectness"/>: OWLv2's objectness logit per patch (fp32) where the model gives it,
/// else empty.</summary>
public sealed record CachedImage(int Width, int Height, float[] Boxes, Half[] ClassEmbeddings, float[] Shift, float[] Scale, int Dimension, float[]? Objectness = null)
{
    public CachedImage(int width, int height, float[] boxes, ImageFeatures features)
        : this(width, height, boxes, Narrow(features.ClassEmbeddings), features.Shift, features.Scale, features.Dimension, features.Objectness)
    {
    }

    public float[] Objectness { get; init; } = Objectness ?? [];

    public long Bytes => 4L * (Boxes.Length + Shift.Length + Scale.Length + Objectness.Length) + 2L * ClassEmbeddings.Length;

    private static Half[] Narrow(float[] values)
    {
        var halves = new Half[values.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(values, halves);
        return halves;
    }
}

/// <summary>
/// Encoded images, keyed by model and image content (SHA-256 of the bytes as stored), least recently used evicted
/// beyond a byte bound. With the split form, re-prompting a seen dataset is then a class-head product per image
/// and no forward pass. OWL-ViT B/32 needs about 0.6 MB per image, OWLv2 B/16 about 3.7 MB. With a
/// <see cref="EmbeddingStore"/> the encodings also go to disk in the same form, and a later process finds them there.
/// </summary>
public sealed class ImageEmbeddingCache(long maxBytes, EmbeddingStore? disk = null)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Key, CachedImage Value)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, CachedImage Value)> _recency = new();
    private long _bytes;

    public long MaxBytes => maxBytes;

    public EmbeddingStore? Disk => disk;

    /// <summary>Whether anything is kept at all: memory, disk or both.</summary>
    public bool Enabled => maxBytes > 0 || disk is not null;

    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The full key: encoding identity, then the SHA-256 of the image's bytes. The disk store writes it into
    /// each file and checks it on read, so a file is only ever used for the image (and model) it was made from.</summary>
    /// <param name="model">What makes an encoding: the encoder file and the preprocessing (<see cref="OwlDetector.EncodingIdentity"/>).</param>
    public static string Key(string model, ReadOnlySpan<byte> image) => model + "|" + Convert.ToHexString(SHA256.HashData(image));

    public bool TryGet(string key, out CachedImage image) => TryGet(key, out image, out _);

    /// <param name="borrowed">The image came from disk into the store's reusable arrays and is kept nowhere else:
    /// <see cref="Release"/> it once scored.</param>
    public bool TryGet(string key, out CachedImage image, out bool borrowed)
    {
        borrowed = false;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                image = node.Value.Value;
                return true;
            }
        }
        if (disk is not null && disk.TryRead(key, out image))
        {
            if (image.Bytes <= maxBytes)
            {
                AddToMemory(key, image);
            }
            else
            {
                borrowed = true;
            }
            return true;
        }
        image = null!;
        return false;
    }

    /// <summary>Gives a borrowed image's arrays back for the next disk read.</summary>
    public void Release(CachedImage image) => disk?.Return(image);

    public void Add(string key, CachedImage image)
    {
        disk?.Write(key, image);
        AddToMemory(key, image);
    }

    private void AddToMemory(string key, CachedImage image)
    {
        if (image.Bytes > maxBytes)
        {
            return;
        }
        lock (_lock)
        {
            if (_entries.Remove(key, out var old))
            {
                _recency.Remove(old);
                _bytes -= old.Value.Value.Bytes;
            }
            _entries[key] = _recency.AddFirst((key, image));
            _bytes += image.Bytes;
            while (_bytes > maxBytes && _recency.Last is { } last)
            {
                _recency.RemoveLast();
                _entries.Remove(last.Value.Key);
                _bytes -= last.Value.Value.Bytes;
            }
        }
    }
}
