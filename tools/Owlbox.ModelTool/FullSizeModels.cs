using Owlbox.ModelTool.Onnx;

namespace Owlbox.ModelTool;

/// <summary>Writes full-size random-weight models in the hub layout (not committed: hundreds of MB; benchmarks cache
/// them under .cache/models).</summary>
public static class FullSizeModels
{
    public static void Write(string name, string directory)
    {
        var arch = name switch
        {
            "owlvit-base-patch32" => OwlArchitecture.OwlVitB32,
            "owlv2-base-patch16" => OwlArchitecture.Owlv2B16,
            "owlvit-tiny" => OwlArchitecture.Tiny("owlvit"),
            "owlv2-tiny" => OwlArchitecture.Tiny("owlv2"),
            _ => throw new ArgumentException($"unknown architecture '{name}'; use owlvit-base-patch32, owlv2-base-patch16, owlvit-tiny or owlv2-tiny"),
        };
        Write(arch, directory);
    }

    /// <summary>The published single graph plus the split form beside it (<c>onnx/image_encoder.onnx</c>,
    /// <c>onnx/text_encoder.onnx</c>, same weights), which Owlbox uses when present.</summary>
    public static void Write(OwlArchitecture arch, string directory)
    {
        HubLayout.Write(directory, arch.ModelType, $"owlbox/{arch.Name}-random", arch.ImageSize, arch.PatchSize, new TestVocabulary(),
            FullSizeModelGraph.Build(arch).ToModelBytes(), arch.VisionHidden, arch.Projection);
        File.WriteAllBytes(Path.Combine(directory, "onnx", "image_encoder.onnx"), FullSizeModelGraph.Build(arch, part: FullSizeModelGraph.Part.Image).ToModelBytes());
        File.WriteAllBytes(Path.Combine(directory, "onnx", "text_encoder.onnx"), FullSizeModelGraph.Build(arch, part: FullSizeModelGraph.Part.Text).ToModelBytes());
        WriteQuantized(arch, directory);
    }

    /// <summary>The int8 variant as published (<c>onnx/model_quantized.onnx</c>) and its split form
    /// (<c>image_encoder_quantized.onnx</c>, <c>text_encoder_quantized.onnx</c>): the same weights, dynamically quantized.</summary>
    public static void WriteQuantized(OwlArchitecture arch, string directory)
    {
        foreach (var (part, file) in new[] { (FullSizeModelGraph.Part.Full, "model"), (FullSizeModelGraph.Part.Image, "image_encoder"), (FullSizeModelGraph.Part.Text, "text_encoder") })
        {
            File.WriteAllBytes(Path.Combine(directory, "onnx", file + "_quantized.onnx"), DynamicQuantization.Apply(FullSizeModelGraph.Build(arch, part: part)).ToModelBytes());
        }
    }
}
