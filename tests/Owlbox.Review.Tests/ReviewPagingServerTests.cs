using System.Net;
using System.Text.Json;
using Owlbox.Cli;
using Owlbox.Cli.Review;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Review.Tests;

/// <summary>The state endpoint's paging over HTTP: a page of the images asked for, and page parameters out of range
/// refused with a message naming the parameter (nothing else read or written).</summary>
public sealed class ReviewPagingServerTests : IAsyncLifetime
{
    private static readonly string s_root = Owlbox.ModelTool.RepoPaths.Root;
    private readonly string _dataset = Path.Combine(Directory.CreateTempSubdirectory("owlbox-review-paging-").FullName, "shapes");
    private readonly HttpClient _http = new();
    private ReviewServer _server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataset);
        var image = Path.Combine(s_root, "samples", "shapes", "wide-640x360.jpg");
        for (var i = 0; i < 12; i++)
        {
            File.Copy(image, Path.Combine(_dataset, $"img{i:D2}.jpg"));
        }
        _server = await ReviewServer.StartAsync(_dataset, 0, CancellationToken.None);
        _http.DefaultRequestHeaders.Add(ReviewAuthorization.TokenHeader, new Uri(_server.Url).Query.Split("t=")[1]);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(Path.GetDirectoryName(_dataset)!, recursive: true);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> StateAsync(string query)
    {
        using var response = await _http.GetAsync(new Uri(new Uri(_server.Url), "/api/state" + query));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task APage_HoldsItsImages_AndTheTotalsCountEveryPage()
    {
        var (status, body) = await StateAsync("?offset=10&limit=5");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["img10.jpg", "img11.jpg"], body.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        Assert.Equal(12, body.GetProperty("page").GetProperty("matching").GetInt32());
        Assert.Equal(12, body.GetProperty("totals").GetProperty("images").GetInt32());
        // No parameters: the first page of the default size, as before paging for a small dataset.
        Assert.Equal(12, (await StateAsync("")).Body.GetProperty("images").GetArrayLength());
    }

    [Theory]
    [InlineData("?offset=-1", "offset must be a whole number of images from 0 (got '-1')")]
    [InlineData("?offset=abc", "offset must be a whole number of images from 0 (got 'abc')")]
    [InlineData("?offset=1.5", "offset must be a whole number of images from 0 (got '1.5')")]
    [InlineData("?limit=0", "limit must be a whole number of images from 1 to 1000 (got '0')")]
    [InlineData("?limit=1001", "limit must be a whole number of images from 1 to 1000 (got '1001')")]
    [InlineData("?limit=99999999999", "limit must be a whole number of images from 1 to 1000 (got '99999999999')")]
    [InlineData("?only=missed", "only must be 'all' or 'pending' (got 'missed')")]
    [InlineData("?offset=12&limit=5", "offset 12 is past the last image (12 in the dataset); the last page starts at offset 10")]
    [InlineData("?offset=1&only=pending", "offset 1 is past the last image (0 with pending boxes); the last page starts at offset 0")]
    public async Task PageParametersOutOfRange_Get400_NamingTheParameter(string query, string message)
    {
        var before = Directory.GetFiles(_dataset, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

        var (status, body) = await StateAsync(query);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(message, body.GetProperty("error").GetString());
        Assert.Equal(before, Directory.GetFiles(_dataset, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        Assert.False(File.Exists(Path.Combine(_dataset, LabelsFile.FileName)));
    }

    [Fact]
    public async Task AnAcceptedBox_IsShownAtOnce_AndInTheLabelsFileItselfWhenThePageStops()
    {
        new ProposalStore(_dataset).Save(new ProposalSet
        {
            JobId = "p",
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = "m",
            ModelType = "owlv2",
            Prompt = "cat",
            DeleteExisting = "no",
            Samples = [new SampleProposal("img07.jpg", [], [], new Dictionary<string, string>(),
                [new ProposedBox("cat", 10, 20, 30, 40, new BoxProvenance("m", 1, "cat", 0.9, 0, 0.1, true, 0.2, false, 0, 0))])],
        });
        using var decide = await _http.PostAsync(new Uri(new Uri(_server.Url), "/api/decide"),
            new StringContent("""{"set": "p", "decision": "accept", "boxes": [{"image": "img07.jpg", "index": 0}]}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, decide.StatusCode);

        var (_, body) = await StateAsync("?offset=5&limit=5");
        var image = body.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("id").GetString() == "img07.jpg");
        Assert.Equal(["cat"], image.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("label").GetString()));
        Assert.Equal(1, body.GetProperty("totals").GetProperty("accepted").GetInt32());

        await _server.DisposeAsync();
        _server = null!;

        // The file other tools read holds it, with nothing left to fold.
        Assert.Equal(["cat@10,20"], LabelsFile.Load(Path.Combine(_dataset, LabelsFile.FileName)).GetBoxes("img07.jpg").Select(b => $"{b.Label}@{b.X},{b.Y}"));
        Assert.False(LabelJournal.HasPending(_dataset));
    }
}
