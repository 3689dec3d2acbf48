using Owlbox.Detection.Imaging;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;

namespace Owlbox.Detection.Inference;

/// <summary>An image decoded and preprocessed for one model: its display size and its <c>pixel_values</c>, in a pooled
/// buffer (7 MB at 768², 11 MB at 960²: allocating one per image keeps the GC doing full collections beside the
/// session); dispose after the run to return it.</summary>
public sealed class PreparedImage : IDisposable
{
    private float[]? _buffer;
    private readonly int _length;

    public PreparedImage(int width, int height, int tensorLength)
    {
        (Width, Height, _length) = (width, height, tensorLength);
        _buffer = System.Buffers.ArrayPool<float>.Shared.Rent(tensorLength);
    }

    public int Width { get; }
    public int Height { get; }

    public Memory<float> Pixels => (_buffer ?? throw new ObjectDisposedException(nameof(PreparedImage))).AsMemory(0, _length);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } b)
        {
            System.Buffers.ArrayPool<float>.Shared.Return(b);
        }
    }
}

/// <summary>The two ends of <see cref="DetectionEngine.Detect"/>, public for the benchmark, which times the model
/// without them.</summary>
public static class ImageDetection
{
    /// <summary>Decode and preprocess: CPU work that can run on any thread. Whatever a hostile file provokes in a
    /// decoder becomes <see cref="ImageDecodeException"/>, which fails that sample and never the batch.</summary>
    public static PreparedImage Prepare(byte[] bytes, ImagePreprocessor preprocessor, DecodeLimits limits)
    {
        try
        {
            using var image = ImageDecoder.Decode(bytes, limits);
            var prepared = new PreparedImage(image.Width, image.Height, preprocessor.TensorLength);
            preprocessor.Preprocess(image, prepared.Pixels.Span);
            return prepared;
        }
        catch (Exception e) when (e is not ImageDecodeException and not OutOfMemoryException)
        {
            throw new ImageDecodeException($"cannot decode the image ({e.GetType().Name}: {e.Message})", e);
        }
    }

    /// <summary>Post-processing and filters of one image's outputs (index 0 of <paramref name="output"/>).</summary>
    public static FilterResult Filter(OwlDetector detector, DetectorOutput output, int width, int height, IReadOnlyList<Labeling.Prompts.PromptLine> lines, LabelingOptions options)
    {
        var candidates = OwlPostprocessor.Decode(output, 0, lines, options.ScoreFloor, detector.Model.Layout, width, height);
        return DetectionFilter.Apply(candidates, width, height, options.Filter);
    }
}
