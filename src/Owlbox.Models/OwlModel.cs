using Owlbox.Labeling.Boxes;

namespace Owlbox.Models;

/// <summary>
/// A model directory as published on the HF hub (e.g. Xenova/owlv2-base-patch16-ensemble): <c>config.json</c>,
/// <c>preprocessor_config.json</c>, <c>tokenizer.json</c> and <c>onnx/&lt;variant&gt;.onnx</c>.
/// </summary>
public sealed record OwlModel
{
    public required string Directory { get; init; }

    /// <summary>The hub id when the config names it (<c>_name_or_path</c>), else the directory name.</summary>
    public required string ModelId { get; init; }

    public required OwlModelType Type { get; init; }
    public required string OnnxPath { get; init; }
    public required string TokenizerPath { get; init; }

    /// <summary>The split form, when the directory has it (<c>onnx/image_encoder.onnx</c> + <c>onnx/text_encoder.onnx</c>,
    /// written by the model tool): the image encoder takes a dynamic batch and the text is encoded once per job.</summary>
    public string? ImageEncoderPath { get; init; }

    public string? TextEncoderPath { get; init; }

    public bool IsSplit => ImageEncoderPath is not null && TextEncoderPath is not null;

    /// <summary>OWLv2's per-patch objectness logits [B, N] as torch.onnx names the output; the prepared image encoder
    /// keeps it when the export has it.</summary>
    public const string ObjectnessOutput = "objectness_logits";

    /// <summary>Square side of the model input in pixels (768 for OWL-ViT B, 960 for OWLv2 B/16).</summary>
    public required int ImageSize { get; init; }

    public required float[] ImageMean { get; init; }
    public required float[] ImageStd { get; init; }
    public required float RescaleFactor { get; init; }

    /// <summary>Text positions including BOS/EOS (16 for every published OWL checkpoint).</summary>
    public required int MaxTextTokens { get; init; }

    /// <summary>"owlvit" or "owlv2", as in config.json and in the original block's <c>labeled_by</c> metadata.</summary>
    public string TypeName => Type == OwlModelType.Owlv2 ? "owlv2" : "owlvit";

    public InputLayout Layout => Type == OwlModelType.Owlv2 ? InputLayout.PadBottomRight : InputLayout.Stretch;
}
