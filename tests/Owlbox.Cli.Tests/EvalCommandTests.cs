using System.Text.Json;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Cli.Tests;

/// <summary><c>owlbox eval --json</c> on a proposal set against a ground-truth copy of the bundled samples.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly Workspace _truth = new();
    private readonly Workspace _ws = new();

    public void Dispose()
    {
        _truth.Dispose();
        _ws.Dispose();
    }

    private static readonly PixelBox s_cat = new(20, 30, 100, 80);

    /// <summary>Ground truth: one "cat" on each of three images. Proposals: each cat found at score 0.9, and one extra
    /// "cat" box elsewhere on each image scored <paramref name="extraScore"/>.</summary>
    private string[] TruthAndProposals(double extraScore)
    {
        var images = _truth.Images.Take(3).ToArray();
        File.WriteAllText(_truth.LabelsPath, JsonSerializer.Serialize(new
        {
            version = 1,
            type = "bounding-box-labels",
            boundingBoxes = images.ToDictionary(i => i, _ => new[] { new { label = "cat", x = s_cat.X, y = s_cat.Y, width = s_cat.Width, height = s_cat.Height } }),
        }));
        new ProposalStore(_ws.Dataset).Save(new ProposalSet
        {
            JobId = "eval",
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = "m",
            ModelType = "owlv2",
            Prompt = "cat",
            DeleteExisting = "no",
            Samples = images.Select(i => new SampleProposal(i, [], [], new Dictionary<string, string>(),
                [Box("cat", s_cat, 0.9), Box("cat", new PixelBox(300, 200, 40, 40), extraScore)])).ToList(),
        });
        return images;
    }

    private static ProposedBox Box(string label, PixelBox b, double score) =>
        new(label, b.X, b.Y, b.Width, b.Height, new BoxProvenance("m", 1, label, score, 0, 0.1, true, 0.2, false, 0, 0));

    private async Task<JsonElement> EvalAsync()
    {
        var (exit, output, err) = await Workspace.RunAsync(CancellationToken.None, "eval", _ws.Dataset, "--truth", _truth.Dataset, "--proposals", "eval", "--json");
        Assert.True(exit == OwlboxCli.Ok, output + err);
        return JsonDocument.Parse(output).RootElement;
    }

    [Fact]
    public async Task EveryTrueBoxFoundAboveAnExtraBox_IsAp50One()
    {
        TruthAndProposals(extraScore: 0.2);

        var json = await EvalAsync();

        Assert.Equal(1.0, json.GetProperty("ap50").GetDouble(), 6);
        Assert.Equal(1.0, json.GetProperty("map").GetDouble(), 6);
        var cat = json.GetProperty("per_label").GetProperty("cat");
        Assert.Equal((3, 3, 0.5), (cat.GetProperty("true_positives").GetInt32(), cat.GetProperty("false_positives").GetInt32(), cat.GetProperty("precision").GetDouble()));
    }

    [Fact]
    public async Task AnExtraBoxAboveTheTrueOnesOnEveryImage_IsAp50Half()
    {
        TruthAndProposals(extraScore: 0.95);

        var json = await EvalAsync();

        Assert.Equal(0.5, json.GetProperty("ap50").GetDouble(), 6);
        Assert.Equal(0.5, json.GetProperty("ap75").GetDouble(), 6);
    }

    public static TheoryData<string, string> SetupErrors => new()
    {
        { "an empty truth folder", "holds no images" },
        { "a truth without boxes", "has no boxes in bounding_boxes.labels" },
        { "no image in common", "no image of the proposal set 'eval' has the file name of an image in --truth" },
    };

    /// <summary>Each used to print AP 0.000 and exit 0, which reads as a measurement (issue 22, finding 14).</summary>
    [Theory]
    [MemberData(nameof(SetupErrors))]
    public async Task NothingToMeasure_IsASetupError_NotAnApOfZero(string setup, string error)
    {
        var images = TruthAndProposals(extraScore: 0.2);
        var truth = _truth.Dataset;
        switch (setup)
        {
            case "an empty truth folder":
                truth = Directory.CreateDirectory(Path.Combine(_truth.Root, "empty")).FullName;
                break;
            case "a truth without boxes":
                File.Delete(_truth.LabelsPath);
                break;
            default:
                // The truth's images and their boxes under other names: a truth that could be measured against.
                var labels = File.ReadAllText(_truth.LabelsPath);
                foreach (var image in images)
                {
                    File.Move(Path.Combine(_truth.Dataset, image), Path.Combine(_truth.Dataset, "renamed-" + image));
                    labels = labels.Replace($"\"{image}\"", $"\"renamed-{image}\"", StringComparison.Ordinal);
                }
                File.WriteAllText(_truth.LabelsPath, labels);
                break;
        }

        var (exit, output, err) = await Workspace.RunAsync(CancellationToken.None, "eval", _ws.Dataset, "--truth", truth, "--proposals", "eval");

        Assert.True(exit == OwlboxCli.SetupError, $"{setup}: exit {exit}\n{output}{err}");
        Assert.Contains(error, err, StringComparison.Ordinal);
        Assert.DoesNotContain("AP50", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADatasetWithNoImageOfTheTruth_IsASetupError()
    {
        TruthAndProposals(extraScore: 0.2);
        var other = Directory.CreateDirectory(Path.Combine(_ws.Root, "other")).FullName;
        File.Copy(Path.Combine(_ws.Dataset, _ws.Images[0]), Path.Combine(other, "not-in-truth.jpg"));

        var (exit, _, err) = await Workspace.RunAsync(CancellationToken.None, "eval", other, "--truth", _truth.Dataset);

        Assert.Equal(OwlboxCli.SetupError, exit);
        Assert.Contains("no image of the dataset", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_SaysItEqualsCocoEval()
    {
        var (_, help, _) = await Workspace.RunAsync("eval", "--help");

        Assert.Contains("equals COCOeval's bbox AP, maxDets 100, area all; boxes are integer pixels as the labels file stores them", help.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }
}
