using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Labeling.Filtering;
using Owlbox.ModelTool;

namespace Owlbox.Detection.Tests;

/// <summary>The int8 variant (model tool's dynamic quantization, as ONNX Runtime's quantize_dynamic writes it) is the
/// same model at lower precision: it loads by the published name, runs on integer kernels, and stays close to fp32.</summary>
public sealed class QuantizationTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("owlbox-int8-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void QuantizedSplitModel_TracksFp32_OnTheSameWeights()
    {
        FullSizeModels.Write(OwlArchitecture.Tiny("owlvit"), _temp);
        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var fp32 = new OwlDetector(ModelDirectory.Load(_temp), options);
        using var int8 = new OwlDetector(ModelDirectory.Load(_temp, "quantized"), options);
        var random = new Random(3);
        var pixels = Enumerable.Range(0, 3 * fp32.Model.ImageSize * fp32.Model.ImageSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        string[] prompts = ["red", "a blue car on the road"];

        float[] a, b, boxesA, boxesB;
        using (var output = fp32.Run(pixels, fp32.PrepareQueries(prompts)))
        {
            (a, boxesA) = (output.Logits.ToArray(), output.Boxes.ToArray());
        }
        using (var output = int8.Run(pixels, int8.PrepareQueries(prompts)))
        {
            (b, boxesB) = (output.Logits.ToArray(), output.Boxes.ToArray());
        }

        Assert.True(int8.Model.IsSplit);
        Assert.EndsWith("image_encoder_quantized.onnx", int8.Model.ImageEncoderPath, StringComparison.Ordinal);
        // Integer products over int8 weights (the tiny model's embeddings stay fp32, so it shrinks less than a full one).
        var bytes = File.ReadAllBytes(int8.Model.ImageEncoderPath!);
        Assert.True(bytes.AsSpan().IndexOf("MatMulInteger"u8) >= 0);
        Assert.True(bytes.AsSpan().IndexOf("DynamicQuantizeLinear"u8) >= 0);
        Assert.True(bytes.Length < 0.7 * new FileInfo(fp32.Model.ImageEncoderPath!).Length);
        Assert.NotEqual(a, b); // it really is another computation...
        Assert.True(Correlation(a, b) > 0.98, $"logit correlation {Correlation(a, b):0.000}"); // ...of the same model
        Assert.True(boxesA.Zip(boxesB, (x, y) => Math.Abs(x - y)).Average() < 0.01, "boxes moved by more than 1% of the input on average");
    }

    [Fact]
    public void QuantizedTestModel_FindsTheSameObjects()
    {
        foreach (var f in Directory.GetFiles(TestSupport.ModelDir("owlvit-test"), "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(_temp, Path.GetRelativePath(TestSupport.ModelDir("owlvit-test"), f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        TestModels.WriteQuantized(_temp, 768);
        var options = new DetectorOptions { ExecutionProvider = "cpu" };
        using var fp32 = new OwlDetector(ModelDirectory.Load(_temp), options);
        using var int8 = new OwlDetector(ModelDirectory.Load(_temp, "quantized"), options);
        var image = File.ReadAllBytes(Path.Combine(TestSupport.RepoRoot, "samples", "shapes", "busy-800x450.jpg"));
        const string prompt = "red\ngreen\nblue\nyellow";

        var reference = TestSupport.Detect(fp32, image, prompt);
        var drift = DetectionDrift.Compare(reference, TestSupport.Detect(int8, image, prompt));

        Assert.True(reference.Count >= 3, $"the sample should show several objects, found {reference.Count}");
        Assert.Equal((reference.Count, 0, 0), (drift.Matched, drift.OnlyInReference, drift.OnlyInCandidate));
        Assert.True(drift.MaxCornerShift <= 2, drift.ToString());
    }

    private static double Correlation(float[] x, float[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.Sqrt(sxx * syy);
    }
}
