using Google.Protobuf;
using Owlbox.ModelPreparation;

namespace Owlbox.ModelTool;

/// <summary>The two committed test models: same colour detector, each with its model type's input size and
/// preprocessing contract. Grid 24 in both (OWL-ViT B/32 at 768 has 24 too; OWLv2 B/16 has 60 at 960, but a test
/// only needs cells big enough to draw into).</summary>
public static class TestModels
{
    public const int Grid = 24;

    public static void WriteAll(string modelsDirectory)
    {
        Write(Path.Combine(modelsDirectory, "owlvit-test"), "owlvit", 768);
        Write(Path.Combine(modelsDirectory, "owlv2-test"), "owlv2", 960);
    }

    public static void Write(string directory, string modelType, int imageSize)
    {
        var vocabulary = new TestVocabulary();
        var graph = TestModelGraph.Build(imageSize, Grid, vocabulary, HubLayout.ClipMean, HubLayout.ClipStd);
        var k = ColourClasses.All.Count;
        HubLayout.Write(directory, modelType, $"owlbox/{modelType}-colour-test", imageSize, imageSize / Grid, vocabulary, graph.ToModelBytes(), k, k);
    }

    /// <summary>Adds the int8 variant (<c>onnx/model_quantized.onnx</c>) to a test model directory written by
    /// <see cref="Write"/> (not committed: the benchmark makes it to show how far int8 moves boxes).</summary>
    public static void WriteQuantized(string directory, int imageSize)
    {
        var graph = TestModelGraph.Build(imageSize, Grid, new TestVocabulary(), HubLayout.ClipMean, HubLayout.ClipStd);
        File.WriteAllBytes(Path.Combine(directory, "onnx", "model_quantized.onnx"), DynamicQuantizer.Apply(graph.ToModel()).ToByteArray());
    }
}
