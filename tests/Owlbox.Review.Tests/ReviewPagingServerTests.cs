using System.Net;
using System.Text.Json;
using Owlbox.Cli;
using Owlbox.Cli.Review;
using Owlbox.Datasets.Local;

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
        await _server.DisposeAsync();
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
}
