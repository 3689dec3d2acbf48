using Google.Protobuf;
using Owlbox.ModelPreparation;


namespace Owlbox.ModelTool;

/// <summary>Writes full-size random-weight models in the hub layout (not committed: hundreds of MB; benchmarks cache
/// them under .cache/models).</summary>
public static class FullSizeModels
{
    /// <summary>Bumped whenever the generated graphs change, so cached copies are regenerated instead of benchmarked
    /// stale. 2: the split image encoder uses fused attention. 3: int8 by the product's DynamicQuantizer.</summary>
    public const int GraphVersion = 3;

    private const string StampFile = "owlbox-graph-version.txt";

    /// <summary>Whether <paramref name="directory"/> holds models written by this version of the tool.</summary>
    public static bool IsCurrent(string directory) =>
        File.Exists(Path.Combine(directory, StampFile)) && File.ReadAllText(Path.Combine(directory, StampFile)).Trim() == GraphVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);

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
    /// <c>onnx/text_encoder.onnx</c>, same weights), which Owlbox uses when present. The split image encoder's
    /// attention is ONNX Runtime's fused MultiHeadAttention, as its transformer optimizer writes ViT exports (one
    /// kernel instead of reshapes, transposes, two MatMuls and a softmax per layer; on OWLv2's 3,601 tokens 9 % faster
    /// and a third less memory, measured side by side); the published single graph stays as published.</summary>
    public static void Write(OwlArchitecture arch, string directory)
    {
        Directory.CreateDirectory(directory);
        File.Delete(Path.Combine(directory, StampFile));
        HubLayout.Write(directory, arch.ModelType, $"owlbox/{arch.Name}-random", arch.ImageSize, arch.PatchSize, new TestVocabulary(),
            FullSizeModelGraph.Build(arch).ToModelBytes(), arch.VisionHidden, arch.Projection);
        File.WriteAllBytes(Path.Combine(directory, "onnx", "image_encoder.onnx"), ImageEncoder(arch).ToModelBytes());
        File.WriteAllBytes(Path.Combine(directory, "onnx", "text_encoder.onnx"), FullSizeModelGraph.Build(arch, part: FullSizeModelGraph.Part.Text).ToModelBytes());
        WriteQuantized(arch, directory);
        File.WriteAllText(Path.Combine(directory, StampFile), GraphVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static OnnxGraph ImageEncoder(OwlArchitecture arch) => FullSizeModelGraph.Build(arch, part: FullSizeModelGraph.Part.Image, fusedAttention: true);

    /// <summary>The int8 variant as published (<c>onnx/model_quantized.onnx</c>) and its split form
    /// (<c>image_encoder_quantized.onnx</c>, <c>text_encoder_quantized.onnx</c>): the same weights, dynamically quantized.</summary>
    public static void WriteQuantized(OwlArchitecture arch, string directory)
    {
        foreach (var (graph, file) in new (Func<OnnxGraph>, string)[] { (() => FullSizeModelGraph.Build(arch), "model"), (() => ImageEncoder(arch), "image_encoder"),
            (() => FullSizeModelGraph.Build(arch, part: FullSizeModelGraph.Part.Text), "text_encoder") })
        {
            File.WriteAllBytes(Path.Combine(directory, "onnx", file + "_quantized.onnx"), DynamicQuantizer.Apply(graph().ToModel()).ToByteArray());
        }
    }
}
