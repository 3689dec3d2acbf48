using Owlbox.Detection.Imaging;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Detection.Inference;

/// <summary>An image decoded and preprocessed for one model: its display size and its <c>pixel_values</c>.</summary>
public sealed record PreparedImage(int Width, int Height, float[] Pixels);

/// <summary>One image through the detector: decode → preprocess → run → decode outputs → filter. The service and the
/// tests share this path, so what is tested is what runs.</summary>
public static class ImageDetection
{
    /// <summary>CPU work that can run on any thread, ahead of the detector. Throws <see cref="ImageDecodeException"/>.</summary>
    public static PreparedImage Prepare(byte[] bytes, ImagePreprocessor preprocessor, DecodeLimits limits)
    {
        var image = ImageDecoder.Decode(bytes, limits);
        var pixels = new float[preprocessor.TensorLength];
        preprocessor.Preprocess(image, pixels);
        return new PreparedImage(image.Width, image.Height, pixels);
    }

    /// <summary>Runs one prepared image (the published single-graph exports take one image per run).</summary>
    public static FilterResult Detect(OwlDetector detector, PreparedImage image, QueryTokens queries, IReadOnlyList<PromptLine> lines, LabelingOptions options) =>
        Filter(detector, detector.Run(image.Pixels, queries), image.Width, image.Height, lines, options);

    /// <summary>Decoding and filtering of one image's outputs (index 0 of <paramref name="output"/>).</summary>
    public static FilterResult Filter(OwlDetector detector, DetectorOutput output, int width, int height, IReadOnlyList<PromptLine> lines, LabelingOptions options)
    {
        var candidates = OwlPostprocessor.Decode(output, 0, lines, options.ScoreFloor, detector.Model.Layout, width, height);
        return DetectionFilter.Apply(candidates, width, height, options.Filter);
    }
}
