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
            version = 1, type = "bounding-box-labels",
            boundingBoxes = images.ToDictionary(i => i, _ => new[] { new { label = "cat", x = s_cat.X, y = s_cat.Y, width = s_cat.Width, height = s_cat.Height } }),
        }));
        new ProposalStore(_ws.Dataset).Save(new ProposalSet
        {
            JobId = "eval", CreatedUtc = DateTimeOffset.UtcNow, ModelId = "m", ModelType = "owlv2", Prompt = "cat", DeleteExisting = "no",
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
}
