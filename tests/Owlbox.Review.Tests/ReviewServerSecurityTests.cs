using System.Net;
using System.Text;
using System.Text.Json;
using Owlbox.Cli;
using Owlbox.Cli.Review;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.TestSupport;

namespace Owlbox.Review.Tests;

/// <summary>
/// The review server over HTTP, no browser: every route its endpoint data sources hold, in every spelling of its path,
/// without the session token, with it, and as another web site open in the same browser would send it. Only the page
/// itself answers without the token, no change is made from another site, and the files are what they were.
/// </summary>
public sealed class ReviewServerSecurityTests(PreparedTestModel model) : IClassFixture<PreparedTestModel>, IAsyncLifetime
{
    private static readonly string s_root = Owlbox.ModelTool.RepoPaths.Root;
    private ReviewServer _server = null!;
    private readonly HttpClient _http = new();

    private readonly string _dataset = NewDataset();

    private static string NewDataset()
    {
        var dataset = Path.Combine(Directory.CreateTempSubdirectory("owlbox-review-sec-").FullName, "shapes");
        Directory.CreateDirectory(dataset);
        foreach (var file in Directory.GetFiles(Path.Combine(s_root, "samples", "shapes")))
        {
            File.Copy(file, Path.Combine(dataset, Path.GetFileName(file)));
        }
        return dataset;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(Path.GetDirectoryName(_dataset)!, recursive: true);
    }

    private Uri Address => new(_server.Url);

    private string Token => Address.Query.Split("t=")[1];

    private async Task StartAsync(bool withProposals = false)
    {
        if (withProposals)
        {
            using var output = new StringWriter();
            var exit = await OwlboxCli.RunAsync(["label", _dataset, "--model", Path.Combine(s_root, "models", "owlv2-test"),
                "--prompt-file", Path.Combine(s_root, "samples", "prompt.txt"), "--propose-actions", "probe"], output, output);
            Assert.True(exit == OwlboxCli.Ok, output.ToString());
        }
        // With a model, so "find more like this" is served and walked too.
        _server = await ReviewServer.StartAsync(_dataset, 0, CancellationToken.None, new ReviewModel(model.Model));
    }

    /// <summary>Every file of the dataset, byte for byte: what no refused request may change.</summary>
    private string Files() => string.Join("\n", Directory.GetFiles(_dataset, "*", SearchOption.AllDirectories)
        .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal) && !f.Contains("jobs.db", StringComparison.Ordinal) && !f.Contains("embeddings", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal).Select(f => $"{f}: {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))}"));

    /// <summary>A query a route needs, and a body that would change something were the handler to run.</summary>
    private (string Query, string? Body) Call(EndpointProbe.Route route)
    {
        var labels = LabelsFile.Load(Path.Combine(_dataset, LabelsFile.FileName));
        var label = labels.GetBoxes("labeled-600x400.jpg")[0];
        var image = new ProposalStore(_dataset).List().SelectMany(s => s.Samples).FirstOrDefault(s => s.Detections.Count > 0)?.SampleId ?? "wide-640x360.jpg";
        return route.Pattern switch
        {
            "/" or "/api/state" => ("", null),
            "/api/image" => ("?id=labeled-600x400.jpg", null),
            "/api/decide" => ("", JsonSerializer.Serialize(new { set = "probe", decision = "accept", boxes = new[] { new { image, index = 0 } } })),
            "/api/remove-labels" => ("", JsonSerializer.Serialize(new { image = "labeled-600x400.jpg", boxes = new[] { new { label.Label, x = label.X, y = label.Y, width = label.Width, height = label.Height } } })),
            "/api/undo" => ("", "{}"),
            "/api/find-more" => ("", JsonSerializer.Serialize(new { image = "labeled-600x400.jpg", label.Label, x = label.X, y = label.Y, width = label.Width, height = label.Height })),
            _ => throw new InvalidOperationException($"no plausible request for {route}: add one to the test"),
        };
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string pathAndQuery, string? body, string? contentType = "application/json",
        Dictionary<string, string>? headers = null)
    {
        using var request = EndpointProbe.Request(Address, method, pathAndQuery);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }
        return await _http.SendAsync(request);
    }

    private Dictionary<string, string> WithToken => new() { [ReviewAuthorization.TokenHeader] = Token };

    [Fact]
    public async Task EveryRoute_WithoutTheToken_IsRefusedInEverySpelling_AndNoFileChanges()
    {
        await StartAsync(withProposals: true);
        var before = Files();
        var routes = EndpointProbe.Routes(_server.Routes);
        var failures = new List<string>();
        foreach (var route in routes.Where(r => !r.Anonymous))
        {
            var (query, body) = Call(route);
            foreach (var spelling in EndpointProbe.Spellings(route, new Dictionary<string, string>()))
            {
                var attempts = new (string What, string Query, Dictionary<string, string> Headers)[]
                {
                    ("no token", query, []),
                    ("a wrong token", query, new() { [ReviewAuthorization.TokenHeader] = new string('0', 32) }),
                    ("the token upper-cased", query, new() { [ReviewAuthorization.TokenHeader] = Token.ToUpperInvariant() }),
                    route.Method == "GET"
                        ? ("a wrong token in the query", query + (query.Length > 0 ? "&" : "?") + "t=x", [])
                        : ("the token in the query of a change", (query.Length > 0 ? query + "&" : "?") + "t=" + Token, []),
                };
                foreach (var (what, q, headers) in attempts)
                {
                    using var response = await SendAsync(route.Method, spelling.Path + q, body, headers: headers);
                    if (spelling.Routes
                        ? response.StatusCode != HttpStatusCode.Unauthorized
                        : response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.BadRequest))
                    {
                        failures.Add($"{route.Method} {spelling.Path}{q} with {what}: {(int)response.StatusCode}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, Files());
        Assert.Equal(["/"], routes.Where(r => r.Anonymous).Select(r => r.Pattern).Distinct());
    }

    [Fact]
    public async Task EveryRoute_WithTheToken_IsReachedInEverySpellingThatRoutes()
    {
        await StartAsync(withProposals: true);
        var failures = new List<string>();
        foreach (var route in EndpointProbe.Routes(_server.Routes))
        {
            var (query, body) = Call(route);
            foreach (var spelling in EndpointProbe.Spellings(route, new Dictionary<string, string>()).Where(s => s.Routes))
            {
                using var response = await SendAsync(route.Method, spelling.Path + query, body, headers: WithToken);
                if (!response.IsSuccessStatusCode)
                {
                    failures.Add($"{route.Method} {spelling.Path}{query}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }
        // The page's own thumbnails: the token in the query of a read.
        using var image = await _http.GetAsync(new Uri(Address, $"/API/Image?id=labeled-600x400.jpg&t={Token}"));

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
    }

    [Fact]
    public async Task EveryChange_FromAnotherSite_IsRefusedInEverySpelling_AndNoFileChanges()
    {
        await StartAsync(withProposals: true);
        var before = Files();
        var posts = EndpointProbe.Routes(_server.Routes).Where(r => r.Method == "POST").ToArray();
        Assert.Equal(["/api/decide", "/api/find-more", "/api/remove-labels", "/api/undo"], posts.Select(r => r.Pattern).Order(StringComparer.Ordinal));
        var failures = new List<string>();
        foreach (var route in posts)
        {
            var (_, body) = Call(route);
            foreach (var spelling in EndpointProbe.Spellings(route, new Dictionary<string, string>()).Where(s => s.Routes))
            {
                var attempts = new (string What, string? ContentType, Dictionary<string, string> Headers, HttpStatusCode Expected)[]
                {
                    // What a form or a fetch without preflight on http://evil.example can send: no token, so 401.
                    ("a simple cross-site POST", "text/plain", new() { ["Origin"] = "http://evil.example", ["Sec-Fetch-Site"] = "cross-site" }, HttpStatusCode.Unauthorized),
                    ("a form POST", "application/x-www-form-urlencoded", new() { ["Origin"] = "http://evil.example" }, HttpStatusCode.Unauthorized),
                    // With the token but not JSON, or JSON from another origin: 403.
                    ("the token, text/plain", "text/plain", WithToken, HttpStatusCode.Forbidden),
                    ("the token, no content type", null, WithToken, HttpStatusCode.Forbidden),
                    ("the token, JSON, another origin", "application/json", new(WithToken) { ["Origin"] = "http://evil.example" }, HttpStatusCode.Forbidden),
                    ("the token, JSON, cross-site fetch", "application/json", new(WithToken) { ["Sec-Fetch-Site"] = "cross-site" }, HttpStatusCode.Forbidden),
                };
                foreach (var (what, contentType, headers, expected) in attempts)
                {
                    using var response = await SendAsync("POST", spelling.Path, body, contentType, headers);
                    if (response.StatusCode != expected)
                    {
                        failures.Add($"POST {spelling.Path} as {what}: {(int)response.StatusCode}, not {(int)expected}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, Files());
        // The page itself, same origin: still works.
        using var undo = await SendAsync("POST", "/api/undo", "{}", headers: new(WithToken) { ["Origin"] = Address.GetLeftPart(UriPartial.Authority), ["Sec-Fetch-Site"] = "same-origin" });
        Assert.Equal(HttpStatusCode.OK, undo.StatusCode);
    }

    [Fact]
    public async Task EveryChange_RefusesABodyOverTheLimit_InEverySpelling()
    {
        await StartAsync(withProposals: true);
        var before = Files();
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) });
        var failures = new List<string>();
        foreach (var route in EndpointProbe.Routes(_server.Routes).Where(r => r.Method == "POST"))
        {
            var limit = route.Pattern switch
            {
                "/api/undo" => ReviewServer.MaxUndoBodyBytes,
                "/api/find-more" => ReviewServer.MaxFindMoreBodyBytes,
                _ => ReviewServer.MaxBodyBytes,
            };
            if (route.Endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata>()?.MaxRequestBodySize != limit)
            {
                failures.Add($"{route}: no body limit of its own ({limit:N0} bytes)");
            }
            foreach (var spelling in EndpointProbe.Spellings(route, new Dictionary<string, string>()).Where(s => s.Routes))
            {
                var content = new EndpointProbe.OversizedContent(ReviewServer.MaxBodyBytes + 1);
                using var request = EndpointProbe.Request(Address, "POST", spelling.Path);
                request.Headers.ExpectContinue = true;
                request.Headers.TryAddWithoutValidation(ReviewAuthorization.TokenHeader, Token);
                request.Content = content;
                using var response = await http.SendAsync(request);
                // Refused before any handler, also by one that never reads its body (undo), which would act.
                if (content.Sent || response.StatusCode != HttpStatusCode.RequestEntityTooLarge)
                {
                    failures.Add($"POST {spelling.Path}: {(int)response.StatusCode}{(content.Sent ? ", the body was taken" : "")}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.Equal(before, Files());
    }

    [Theory]
    [InlineData("/api/decide", """{"set": "probe", "decision": "accept"}""", "no 'boxes'")]
    [InlineData("/api/decide", """{"decision": "accept", "boxes": []}""", "no 'set'")]
    [InlineData("/api/decide", """{"set": "probe", "boxes": []}""", "no 'decision'")]
    [InlineData("/api/decide", """{"set": "probe", "decision": "maybe", "boxes": []}""", "decision must be accept or reject")]
    [InlineData("/api/decide", """{"set": "probe", "decision": "accept", "boxes": [{"image": "wide-640x360.jpg"}]}""", "no 'boxes[0].index'")]
    [InlineData("/api/decide", """{"set": "probe", "decision": "accept", "boxes": [null]}""", "no 'boxes[0]'")]
    [InlineData("/api/decide", """{"set": "probe", "decision": "accept", "boxes": "all"}""", "field 'boxes' is not what this call takes")]
    [InlineData("/api/decide", """{"set": "probe", "decision": "accept", "boxes": [{"image": "a.jpg", "index": "one"}]}""", "field 'boxes[0].index' is not")]
    [InlineData("/api/decide", "", "the request body is empty")]
    [InlineData("/api/decide", "null", "the request body is empty or null; this call takes a JSON object")]
    [InlineData("/api/undo", "[1]", "undo takes an empty JSON object ({})")]
    [InlineData("/api/undo", "{", "the request body is not JSON; undo takes an empty JSON object")]
    [InlineData("/api/decide", "[1, 2", "not the JSON object this call takes")]
    [InlineData("/api/find-more", """{"label": "red", "x": 1, "y": 2, "width": 3, "height": 4}""", "no 'image'")]
    [InlineData("/api/find-more", """{"image": "labeled-600x400.jpg", "label": "red", "x": 1, "y": 2, "width": 3}""", "no 'height'")]
    [InlineData("/api/find-more", """{"image": "labeled-600x400.jpg", "label": "red", "x": 1, "y": 2, "width": 3, "height": 4, "minConfidence": 2}""", "minConfidence must be between 0 and 1")]
    [InlineData("/api/remove-labels", """{"boxes": []}""", "no 'image'")]
    [InlineData("/api/remove-labels", """{"image": "labeled-600x400.jpg"}""", "no 'boxes'")]
    [InlineData("/api/remove-labels", """{"image": "labeled-600x400.jpg", "boxes": [{"label": "red", "x": 1, "y": 2, "width": 3}]}""", "no 'boxes[0].height'")]
    public async Task ARequestMissingAField_Is400_NamingIt(string path, string body, string expected)
    {
        await StartAsync();
        var before = Files();

        using var response = await SendAsync("POST", path, body, headers: WithToken);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, JsonDocument.Parse(text).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, Files());
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/api/state")]
    [InlineData("POST", "/api/undo")]
    public async Task ARequestForAnotherHost_Is400_InWords(string method, string path)
    {
        await StartAsync();
        using var request = EndpointProbe.Request(Address, method, path);
        request.Headers.Host = "evil.example";
        request.Headers.TryAddWithoutValidation(ReviewAuthorization.TokenHeader, Token);

        using var response = await _http.SendAsync(request);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("answers only at http://127.0.0.1 or http://localhost", error, StringComparison.Ordinal);
    }

    /// <summary>A body the client streams without declaring its length (chunked).</summary>
    private sealed class ChunkedContent(string text) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private string PendingImage() => new ProposalStore(_dataset).Load("probe").Samples.First(s => s.Detections.Count > 0).SampleId;

    [Fact]
    public async Task AnUndoWithAChunkedBodyOverItsLimit_Is413_AndUndoesNothing()
    {
        await StartAsync(withProposals: true);
        using var accepted = await SendAsync("POST", "/api/decide", JsonSerializer.Serialize(new { set = "probe", decision = "accept", boxes = new[] { new { image = PendingImage(), index = 0 } } }), headers: WithToken);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var before = Files();

        using var request = EndpointProbe.Request(Address, "POST", "/api/undo");
        request.Headers.TryAddWithoutValidation(ReviewAuthorization.TokenHeader, Token);
        request.Content = new ChunkedContent("{}" + new string(' ', 8 * 1024));
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var oversized = await _http.SendAsync(request);
        var error = JsonDocument.Parse(await oversized.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        var after = Files();
        using var undo = await SendAsync("POST", "/api/undo", "{}", headers: WithToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oversized.StatusCode);
        Assert.Contains($"larger than {ReviewServer.MaxUndoBodyBytes:N0} bytes", error, StringComparison.Ordinal);
        Assert.Equal(before, after);
        Assert.Contains(PendingImage(), await undo.Content.ReadAsStringAsync(), StringComparison.Ordinal); // still there to undo
    }

    [Theory]
    [InlineData("ghost.jpg", 0)]
    [InlineData("BUSY-800x450.JPG", 0)]
    [InlineData("../../etc/passwd", 0)]
    [InlineData(null, -1)]
    [InlineData(null, 99999)]
    public async Task ADecisionOnABoxTheSetDoesNotHold_Is409_NamingIt_AndNothingIsDecided(string? image, int index)
    {
        await StartAsync(withProposals: true);
        var before = Files();
        image ??= PendingImage();

        var body = JsonSerializer.Serialize(new { set = "probe", decision = "accept", boxes = new[] { new { image = PendingImage(), index = 0 }, new { image, index } } });
        using var response = await SendAsync("POST", "/api/decide", body, headers: WithToken);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains($"image '{image}' has no proposal {index} in set 'probe'", error, StringComparison.Ordinal);
        Assert.Equal(before, Files()); // the box that is there was not accepted either
    }

    [Theory]
    [InlineData("{\"targetPrecision\": 0.9,\n \"images\": ", "not valid JSON (line 2")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("""{"targetPrecision": 0.9, "images": 3}""", "'labels' is missing")]
    [InlineData("""{"targetPrecision": "high", "images": 3, "labels": []}""", "'targetPrecision' is missing or not a number")]
    [InlineData("""{"targetPrecision": 0.9, "images": 3, "labels": [{"label": "red", "threshold": "low"}]}""", "'labels[0].threshold' is not a number")]
    public async Task ADamagedCalibrationFile_LeavesThePageWorking_AndSaysWhatIsWrong(string content, string expected)
    {
        Directory.CreateDirectory(Path.Combine(_dataset, ".owlbox"));
        await File.WriteAllTextAsync(Path.Combine(_dataset, ".owlbox", "calibration.json"), content);
        await StartAsync();

        using var response = await SendAsync("GET", "/api/state", null, headers: WithToken);
        var state = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Null, state.GetProperty("calibration").ValueKind);
        var warning = Assert.Single(state.GetProperty("warnings").EnumerateArray()).GetString();
        Assert.Contains(".owlbox/calibration.json", warning, StringComparison.Ordinal);
        Assert.Contains(expected, warning, StringComparison.Ordinal);
        Assert.Equal(LocalDataset.Open(_dataset).Samples.Count, state.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public async Task AnImageThatLinksOutOfTheDataset_IsNotServed_ALinkInsideIs()
    {
        var outside = Directory.CreateTempSubdirectory("owlbox-outside-").FullName;
        try
        {
            var secret = Path.Combine(outside, "secret.jpg");
            File.Copy(Path.Combine(_dataset, "wide-640x360.jpg"), secret);
            File.AppendAllText(secret, "SECRET-BYTES");
            File.CreateSymbolicLink(Path.Combine(_dataset, "escape.jpg"), secret);
            File.CreateSymbolicLink(Path.Combine(_dataset, "inside.jpg"), Path.Combine(_dataset, "wide-640x360.jpg"));
            await StartAsync();

            using var escape = await SendAsync("GET", "/api/image?id=escape.jpg", null, headers: WithToken);
            using var inside = await SendAsync("GET", "/api/image?id=inside.jpg", null, headers: WithToken);

            Assert.Equal(HttpStatusCode.Forbidden, escape.StatusCode);
            Assert.DoesNotContain("SECRET-BYTES", await escape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_dataset, "wide-640x360.jpg")), await inside.Content.ReadAsByteArrayAsync());
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Theory]
    [InlineData("application/json", null, null, null)]
    [InlineData("application/json; charset=utf-8", "http://127.0.0.1:5000", "same-origin", null)]
    [InlineData("Application/JSON", "http://localhost:5000", null, null)]
    [InlineData("text/plain", null, null, "Content-Type: application/json")]
    [InlineData(null, null, null, "Content-Type: application/json")]
    [InlineData("application/jsonx", null, null, "Content-Type: application/json")]
    [InlineData("application/json", "http://evil.example", null, "not from http://evil.example")]
    [InlineData("application/json", "http://127.0.0.1:5001", null, "not from http://127.0.0.1:5001")]
    [InlineData("application/json", "null", null, "not from null")]
    [InlineData("application/json", null, "cross-site", "Sec-Fetch-Site: cross-site")]
    [InlineData("application/json", null, "same-site", "Sec-Fetch-Site: same-site")]
    [InlineData("application/json", null, "none", null)]
    public void CrossSiteProblem_AcceptsOnlyJsonFromThePageItself(string? contentType, string? origin, string? fetchSite, string? expected)
    {
        var host = origin is not null && origin.Contains("localhost", StringComparison.Ordinal) ? "localhost:5000" : "127.0.0.1:5000";
        var problem = ReviewAuthorization.CrossSiteProblem(contentType, origin, fetchSite, host);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.Contains(expected, problem, StringComparison.Ordinal);
        }
    }
}
