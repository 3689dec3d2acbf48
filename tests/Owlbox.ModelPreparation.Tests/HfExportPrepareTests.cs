using Microsoft.ML.OnnxRuntime;
using Owlbox.Detection.Inference;
using Owlbox.Detection.Tests;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Filtering;
using Owlbox.ModelPreparation;
using Owlbox.Models;
using Owlbox.ModelTool;

namespace Owlbox.ModelPreparation.Tests;

/// <summary>
/// <c>owlbox models prepare</c> on graphs written as torch.onnx / optimum trace Hugging Face's OwlViT and OWLv2
/// ForObjectDetection (<see cref="HfOwlExport"/>): the text reshape's batch read from the feature map, the class head's
/// second normalisation of the queries, the query mask from <c>input_ids</c>, OWLv2's objectness head and box bias,
/// dynamic and folded pixel batches, both norm forms, internal tensors named like the engine's outputs. Each must
/// prepare, with a dynamic image batch, and label exactly as its single graph does.
/// </summary>
public sealed class HfExportPrepareTests : IDisposable
{
    private const string Prompt = "red square\ngreen block\na blue thing\nyellow\nmagenta";
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-hf-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    public static TheoryData<string, bool, bool> Forms()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var type in new[] { "owlvit", "owlv2" })
        {
            foreach (var dynamic in new[] { true, false })
            {
                foreach (var pow in new[] { false, true })
                {
                    data.Add(type, dynamic, pow);
                }
            }
        }
        return data;
    }

    [Theory]
    [InlineData("owlvit")]
    [InlineData("owlv2")]
    public void TracedGraph_Detects_AsTheColourTestModelDoes(string type)
    {
        var dir = Path.Combine(_temp, type);
        HfOwlExport.Write(dir, new HfExportOptions { ModelType = type });
        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var traced = new OwlDetector(ModelDirectory.Load(dir), options);
        using var colour = new OwlDetector(ModelDirectory.Load(TestSupport.ModelDir(type + "-test")), options);
        var image = File.ReadAllBytes(Path.Combine(TestSupport.RepoRoot, "samples", "shapes", "busy-800x450.jpg"));

        var reference = TestSupport.Detect(colour, image, Prompt);
        var found = TestSupport.Detect(traced, image, Prompt);
        var drift = DetectionDrift.Compare(reference, found);

        Assert.False(traced.Model.IsSplit);
        Assert.True(reference.Count >= 3, $"the sample should show several objects, found {reference.Count}");
        Assert.Equal((reference.Count, 0, 0), (drift.Matched, drift.OnlyInReference, drift.OnlyInCandidate));
        Assert.True(drift.MaxCornerShift <= 3, drift.ToString());
    }

    [Theory]
    [MemberData(nameof(Forms))]
    public void Prepare_EveryTracedForm_WritesADynamicBatchEncoder_ThatLabelsAsTheSingleGraph(string type, bool dynamicBatch, bool powNorm)
    {
        var form = new HfExportOptions { ModelType = type, DynamicBatch = dynamicBatch, PowSumSqrtNorm = powNorm };
        var single = Path.Combine(_temp, "single");
        HfOwlExport.Write(single, form);
        var prepared = TestSupport.CopyModel(single, Path.Combine(_temp, "prepared"));

        var result = ModelPreparer.Prepare(prepared);

        using (var encoder = new InferenceSession(result.ImageEncoderPath))
        {
            Assert.True(encoder.InputMetadata["pixel_values"].Dimensions[0] < 0, $"{form.Describe()}: the image batch is dynamic");
            Assert.Equal(type == "owlv2", encoder.OutputMetadata.ContainsKey("objectness_logits"));
        }
        using (var textEncoder = new InferenceSession(result.TextEncoderPath))
        {
            Assert.Equal(["attention_mask", "input_ids"], textEncoder.InputMetadata.Keys.Order(StringComparer.Ordinal));
        }
        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var a = new OwlDetector(ModelDirectory.Load(single), options);
        using var b = new OwlDetector(ModelDirectory.Load(prepared), options);
        Assert.False(a.Model.IsSplit);
        Assert.True(b.Model.IsSplit);
        var found = 0;
        foreach (var image in Images(a.Model.Layout))
        {
            var want = TestSupport.Detect(a, image, Prompt);
            var got = TestSupport.Detect(b, image, Prompt);
            Assert.True(Describe(want) == Describe(got), $"{form.Describe()}, image {found}: {Describe(want)} vs {Describe(got)}; " + string.Join(" ", want.Select(w => $"{w.Line.Label}:{w.Score:R}")) + " / " + string.Join(" ", got.Select(w => $"{w.Line.Label}:{w.Score:R}")) + $" check {result.MaxLogitDifference} {result.MaxBoxDifference}");
            found += want.Count;
        }
        Assert.True(found >= 10, $"{form.Describe()}: the images should show objects, found {found}");
    }

    [Fact]
    public void AGraphWhoseQueriesReadTheImage_IsRefusedNamingTheNode_AndTheSkeletonSaysTheSameWithoutItsWeights()
    {
        var dir = Path.Combine(_temp, "unsplittable");
        HfOwlExport.Write(dir, new HfExportOptions { TextReadsImage = true });
        var splittable = Path.Combine(_temp, "splittable");
        HfOwlExport.Write(splittable, new HfExportOptions());
        var onnx = Path.Combine(dir, "onnx", "model.onnx");

        var e = Assert.Throws<ModelException>(() => ModelPreparer.Prepare(dir));
        var skeleton = Owlbox.ModelPreparation.GraphSkeleton.Read(onnx);

        Assert.True(e.Message.Contains("the first node that needs both the image and the text is '/owlvit/Mul_1' (Mul)", StringComparison.Ordinal), e.Message);
        Assert.Equal(["model.onnx"], Directory.GetFiles(Path.Combine(dir, "onnx")).Select(Path.GetFileName));
        Assert.Equal(e.Message, ModelPreparer.WhyNotPreparable(onnx));
        Assert.Null(ModelPreparer.WhyNotPreparable(Path.Combine(splittable, "onnx", "model.onnx")));
        var full = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx));
        Assert.Equal(full.Graph.Node, skeleton.Graph.Node);
        Assert.Equal(full.Graph.Initializer.Select(i => (i.Name, i.DataType, string.Join("x", i.Dims))), skeleton.Graph.Initializer.Select(i => (i.Name, i.DataType, string.Join("x", i.Dims))));
        Assert.Contains(skeleton.Graph.Initializer, i => i.RawData.IsEmpty && full.Graph.Initializer.Single(f => f.Name == i.Name).RawData.Length > 4096);
        Assert.Equal((full.IrVersion, full.OpsetImport), (skeleton.IrVersion, skeleton.OpsetImport));
    }

    private static string Describe(IReadOnlyList<DetectedBox> boxes) =>
        string.Join(" ", boxes.Select(d => $"{d.Line.Label}@{d.Box.X},{d.Box.Y},{d.Box.Width},{d.Box.Height}").Order(StringComparer.Ordinal));

    /// <summary>The bundled samples and a generated set: coloured blocks on grids of cells, at several sizes.</summary>
    private static IEnumerable<byte[]> Images(InputLayout layout)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(TestSupport.RepoRoot, "samples", "shapes")).Where(f => !f.EndsWith(".labels", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            yield return File.ReadAllBytes(file);
        }
        var random = new Random(23);
        string[] colours = ["red", "green", "blue", "yellow", "magenta"];
        foreach (var (w, h) in new[] { (640, 480), (480, 640), (960, 960) })
        {
            var scene = new Scene(w, h);
            for (var i = 0; i < 3; i++)
            {
                scene.Add(colours[random.Next(colours.Length)], scene.Cells(layout, 1 + 6 * i, 2 + random.Next(10), 2 + random.Next(3), 2 + random.Next(4)));
            }
            yield return scene.Encode();
        }
    }
}

/// <summary>The checks that guard every write of <c>models prepare</c> compare with <see cref="ModelPreparer.Within"/>:
/// a NaN difference or correlation (a prepared form computing NaN) fails them, as no "greater than" test would.</summary>
public sealed class PrepareCheckTests
{
    [Theory]
    [InlineData(0.5, 1.0, true)]
    [InlineData(1.0, 1.0, true)]
    [InlineData(1.5, 1.0, false)]
    [InlineData(double.NaN, 1.0, false)]
    [InlineData(0.95, double.NaN, false)]
    public void Within_FailsNaN(double value, double limit, bool within) => Assert.Equal(within, ModelPreparer.Within(value, limit));
}
