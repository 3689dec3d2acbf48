using Owlbox.Detection.Imaging;
using Owlbox.Detection.Inference;
using Owlbox.Labeling;

namespace Owlbox.Pipeline;

/// <summary>One labeling run over a local dataset.</summary>
public sealed record LabelingJob
{
    public required string DatasetDirectory { get; init; }
    public required string ModelDirectory { get; init; }

    /// <summary>"model" (fp32), "quantized", "fp16", or an ONNX file name under onnx/.</summary>
    public string ModelVariant { get; init; } = "model";

    /// <summary>Prompt text, one query per line (literal "\n" already decoded).</summary>
    public required string PromptText { get; init; }

    public LabelingOptions Options { get; init; } = new();

    /// <summary>Sample ids to label (file names or stems); null labels every image in the folder.</summary>
    public IReadOnlyList<string>? SampleIds { get; init; }

    /// <summary>When set, write a proposal set under this job id instead of the labels (preview mode).</summary>
    public string? ProposeJobId { get; init; }

    public DetectorOptions Detector { get; init; } = new();
    public DecodeLimits DecodeLimits { get; init; } = new();

    /// <summary>Images decoded and preprocessed ahead of the detector; bounds memory on any dataset size.</summary>
    public int Prefetch { get; init; } = 2;
}
