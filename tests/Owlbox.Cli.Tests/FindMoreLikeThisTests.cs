using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Owlbox.Cli.Review;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Tests;

/// <summary>The review page's "find more like this" over HTTP (issue 26): a box and its label's accepted boxes become
/// the examples of a preview job; the new proposal set has the red squares of the other generated images and no blue
/// one, and the labels are not touched. Without a model the page has no button and the call says why.</summary>
public sealed class FindMoreLikeThisTests(PreparedOwlv2Fixture model) : IClassFixture<PreparedOwlv2Fixture>, IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-find-more-").FullName;
    private readonly HttpClient _http = new();
    private ReviewServer? _server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(_root, recursive: true);
    }

    private async Task<Uri> StartAsync(string folder, ReviewModel? with)
    {
        _server = await ReviewServer.StartAsync(folder, 0, CancellationToken.None, with);
        var address = new Uri(_server.Url);
        _http.DefaultRequestHeaders.Add(ReviewAuthorization.TokenHeader, address.Query.Split("t=")[1]);
        return address;
    }

    private static JsonContent Box(string image, LabeledBox b) =>
        JsonContent.Create(new { image, label = b.Label, x = b.X, y = b.Y, width = b.Width, height = b.Height, minConfidence = 0.5 });

    [Fact]
    public async Task ABoxAndItsLabelsAcceptedBoxes_MakeAProposalSet_WithTheRedSquaresAndNoBlueOne_AndTheLabelsUntouched()
    {
        // Two accepted "thing" boxes (the first two images' red squares); the third image's red square is the box clicked.
        var (folder, truth) = ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, "shapes")).FullName, "thing");
        var files = truth.Keys.Order(StringComparer.Ordinal).ToArray();
        var labelsPath = Path.Combine(folder, LabelsFile.FileName);
        var clicked = LabelsFile.Load(labelsPath).GetBoxes(files[2])[0];
        var labels = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(labelsPath))!;
        labels["boundingBoxes"]!.AsObject().Remove(files[2]);
        File.WriteAllText(labelsPath, labels.ToJsonString());
        var before = File.ReadAllBytes(labelsPath);
        var address = await StartAsync(folder, new ReviewModel(model.Model));

        using var response = await _http.PostAsync(new Uri(address, "/api/find-more"), Box(files[2], clicked));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var result = JsonDocument.Parse(body);
        var set = result.RootElement.GetProperty("set").GetString()!;
        var proposals = new ProposalStore(folder).Load(set);
        Assert.Equal(proposals.Samples.Sum(s => s.Detections.Count), result.RootElement.GetProperty("boxes").GetInt32());
        foreach (var (file, (red, blue)) in truth)
        {
            var found = proposals.Samples.Where(s => s.SampleId == file).SelectMany(s => s.Detections).Where(d => d.Label == "thing").Select(d => new PixelBox(d.X, d.Y, d.Width, d.Height)).ToArray();
            Assert.DoesNotContain(found, f => f.IoU(blue) > 0);
            if (Array.IndexOf(files, file) >= 3)
            {
                Assert.True(found.Length == 1 && found[0] == red, $"{file}: proposed {string.Join(" ", found)}, red square {red}");
            }
        }
        Assert.Equal(before, File.ReadAllBytes(labelsPath));
        // The page is then shown that set.
        using var state = JsonDocument.Parse(await _http.GetStringAsync(new Uri(address, "/api/state?set=" + set)));
        Assert.Equal(set, state.RootElement.GetProperty("set").GetString());
        Assert.Equal("owlv2-test", state.RootElement.GetProperty("findMore").GetString());
    }

    [Fact]
    public async Task WithoutAModel_ThePageHasNoFindMore_AndTheCallSaysWhy_WritingNothing()
    {
        var (folder, truth) = ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, "shapes")).FullName, "thing");
        var file = truth.Keys.Order(StringComparer.Ordinal).First();
        var address = await StartAsync(folder, with: null);

        using var response = await _http.PostAsync(new Uri(address, "/api/find-more"), Box(file, LabelsFile.Load(Path.Combine(folder, LabelsFile.FileName)).GetBoxes(file)[0]));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("--model", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var state = JsonDocument.Parse(await _http.GetStringAsync(new Uri(address, "/api/state")));
        Assert.Equal(JsonValueKind.Null, state.RootElement.GetProperty("findMore").ValueKind);
        Assert.Empty(new ProposalStore(folder).List());
    }

    [Fact]
    public async Task ABoxSmallerThanAPatch_IsRefused_NamingItsImage_AndNoSetIsMade()
    {
        var (folder, truth) = ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, "shapes")).FullName, handLabel: null);
        var file = truth.Keys.Order(StringComparer.Ordinal).First();
        var address = await StartAsync(folder, new ReviewModel(model.Model));

        using var response = await _http.PostAsync(new Uri(address, "/api/find-more"), Box(file, new LabeledBox("thing", 10, 10, 2, 2)));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        Assert.Contains(file, body, StringComparison.Ordinal);
        Assert.Empty(new ProposalStore(folder).List());
    }

    /// <summary>A hostile box: int.MaxValue everywhere once wrapped round to "inside the image" and ran a search.</summary>
    [Fact]
    public async Task ABoxThatOverflows_IsRefusedAsNotInsideTheImage_AndNoSetIsMade()
    {
        var (folder, truth) = ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, "shapes")).FullName, handLabel: null);
        var file = truth.Keys.Order(StringComparer.Ordinal).First();
        var address = await StartAsync(folder, new ReviewModel(model.Model));

        using var response = await _http.PostAsync(new Uri(address, "/api/find-more"),
            Box(file, new LabeledBox("thing", int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue)));

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        Assert.Contains("not inside the image", body, StringComparison.Ordinal);
        Assert.Empty(new ProposalStore(folder).List());
    }
}
