using Owlbox.Detection.Inference;
using Owlbox.Models;
using Owlbox.Labeling;
using Owlbox.Labeling.Filtering;
using Owlbox.Labeling.Prompts;

namespace Owlbox.Detection.Tests;

/// <summary>Paths into the repository and a one-image detection helper over the committed test models (the engine's
/// own path, the one the detector service runs).</summary>
internal static class TestSupport
{
    public static string RepoRoot => Owlbox.ModelTool.RepoPaths.Root;

    public static string ModelDir(string name) => Path.Combine(RepoRoot, "models", name);

    /// <summary>Copies a model folder (the files <paramref name="include"/> keeps, all by default) to <paramref name="target"/>.</summary>
    public static string CopyModel(string source, string target, Func<string, bool>? include = null)
    {
        foreach (var f in Directory.GetFiles(source, "*", SearchOption.AllDirectories).Where(include ?? (_ => true)))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        return target;
    }

    public static IReadOnlyList<DetectedBox> Detect(OwlDetector detector, byte[] imageBytes, string prompt, LabelingOptions? options = null)
    {
        options ??= new LabelingOptions();
        var parsed = LabelingPrompt.Parse(prompt, detector.CountTokens, detector.Model.MaxTextTokens);
        return DetectionEngine.Detect(DetectionPlan.Create(detector, parsed, options), imageBytes).Result.Kept;
    }
}

/// <summary>Both committed test models, loaded once per test class that asks for them.</summary>
public sealed class TestModelsFixture : IDisposable
{
    public OwlDetector OwlVit { get; } = new(ModelDirectory.Load(TestSupport.ModelDir("owlvit-test")), new DetectorOptions { ExecutionProvider = "cpu" });
    public OwlDetector Owlv2 { get; } = new(ModelDirectory.Load(TestSupport.ModelDir("owlv2-test")), new DetectorOptions { ExecutionProvider = "cpu" });

    public OwlDetector For(string modelType) => modelType == "owlv2" ? Owlv2 : OwlVit;

    public void Dispose()
    {
        OwlVit.Dispose();
        Owlv2.Dispose();
    }
}
