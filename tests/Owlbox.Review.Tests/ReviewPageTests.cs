using System.Text.Json;
using Microsoft.Playwright;
using Owlbox.Cli;
using Owlbox.Cli.Review;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;
using Owlbox.Labeling.Provenance;

namespace Owlbox.Review.Tests;

/// <summary>
/// The review page in headless Chromium against a copy of the bundled samples: a real preview job's proposals are
/// shown on every image, and clicks and keys accept, reject, filter and undo; each test then reads the labels file and
/// the proposal set from disk.
/// </summary>
public sealed class ReviewPageTests : IAsyncLifetime
{
    private static readonly string s_root = Owlbox.ModelTool.RepoPaths.Root;
    private readonly string _dataset;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private ReviewServer? _server;

    public ReviewPageTests()
    {
        _dataset = Path.Combine(Directory.CreateTempSubdirectory("owlbox-review-").FullName, "shapes");
        Directory.CreateDirectory(_dataset);
        foreach (var file in Directory.GetFiles(Path.Combine(s_root, "samples", "shapes")))
        {
            File.Copy(file, Path.Combine(_dataset, Path.GetFileName(file)));
        }
    }

    /// <summary>Debian's chromium (what .ci/services.sh installs), or OWLBOX_CHROMIUM.</summary>
    private static string? Chromium =>
        new[] { Environment.GetEnvironmentVariable("OWLBOX_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    public async Task InitializeAsync()
    {
        if (Chromium is null)
        {
            return;
        }
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
        Directory.Delete(Path.GetDirectoryName(_dataset)!, recursive: true);
    }

    private async Task<IPage> OpenAsync()
    {
        Skip.If(_browser is null, "no chromium: .ci/services.sh installs Debian's (or set OWLBOX_CHROMIUM)");
        _server = await ReviewServer.StartAsync(_dataset, 0, CancellationToken.None);
        var page = await _browser!.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        await page.GotoAsync(_server.Url);
        await page.Locator("[data-testid=card]").First.WaitForAsync();
        return page;
    }

    private Task ProposeAsync(string jobId) => RunAsync("label", _dataset, "--model", Path.Combine(s_root, "models", "owlv2-test"),
        "--prompt-file", Path.Combine(s_root, "samples", "prompt.txt"), "--propose-actions", jobId);

    /// <summary>The image's labels as any Owlbox reader sees them: the page's journaled changes folded first.</summary>
    private IReadOnlyList<LabeledBox> Labels(string image) => LocalDataset.List(_dataset).ReadLabels().GetBoxes(image);

    private ProposalSet Set(string jobId) => new ProposalStore(_dataset).Load(jobId);

    /// <summary>Does what the reviewer does, then waits for the write it makes: the page's POST to
    /// <paramref name="endpoint"/> answered (the server answers once the change is on disk: journaled, and the proposal set saved)
    /// and the page redrawn from the new state, so what the test reads next is what that action wrote.</summary>
    private static async Task WrittenAsync(IPage page, Func<Task> act, string endpoint)
    {
        var response = await page.RunAndWaitForResponseAsync(act, r => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == endpoint);
        Assert.True(response.Ok, $"{endpoint} answered {response.Status}");
        await Assertions.Expect(page.Locator("body")).Not.ToHaveAttributeAsync("data-busy", "true");
    }

    [SkippableFact]
    public async Task EveryImageRenders_WithEveryPendingProposalDrawn()
    {
        await ProposeAsync("preview");
        var set = Set("preview");
        var page = await OpenAsync();

        var cards = page.Locator("[data-testid=card]");
        var images = LocalDataset.Open(_dataset).Samples.Select(s => s.Id).ToArray();
        Assert.Equal(images.Length, await cards.CountAsync());
        for (var i = 0; i < images.Length; i++)
        {
            var card = cards.Nth(i);
            await card.ScrollIntoViewIfNeededAsync();
            var img = card.Locator("img");
            // Decoded by the browser, and its overlay sized to the image's own pixels (EXIF orientation applied).
            await page.WaitForFunctionAsync("el => el.complete && el.naturalWidth > 0", await img.ElementHandleAsync());
            var id = await card.GetAttributeAsync("data-image");
            var expected = set.Samples.FirstOrDefault(s => s.SampleId == id)?.Detections.Count ?? 0;
            await Assertions.Expect(card.Locator("rect.proposal")).ToHaveCountAsync(expected);
            await Assertions.Expect(card.Locator("rect.label")).ToHaveCountAsync(Labels(id!).Count);
        }
        // The EXIF-rotated sample is drawn upright: its overlay is portrait like the image the browser shows.
        var rotated = page.Locator("[data-image='rotated-exif6.jpg'] svg");
        var viewBox = (await rotated.GetAttributeAsync("viewBox"))!.Split(' ').Select(int.Parse).ToArray();
        Assert.True(viewBox[3] > viewBox[2], $"viewBox {string.Join(' ', viewBox)}");

        var screenshot = Environment.GetEnvironmentVariable("OWLBOX_REVIEW_SCREENSHOT");
        if (!string.IsNullOrEmpty(screenshot))
        {
            await page.Locator("[data-image='busy-800x450.jpg']").ClickAsync();
            await page.ScreenshotAsync(new() { Path = screenshot });
        }
    }

    [SkippableFact]
    public async Task AcceptAndRejectByKeyboard_WriteExactlyThat_AndUndoTakesThemBack()
    {
        await ProposeAsync("preview");
        const string image = "busy-800x450.jpg";
        var before = Labels(image);
        var proposals = Set("preview").Samples.Single(s => s.SampleId == image).Detections;
        Assert.True(proposals.Count >= 2, "the bundled busy image has several objects");
        var page = await OpenAsync();

        await page.Locator($"[data-image='{image}']").ClickAsync();
        await Assertions.Expect(page.GetByTestId("viewer-title")).ToContainTextAsync(image);
        var first = await SelectedProposalAsync(page);
        await WrittenAsync(page, () => page.Keyboard.PressAsync("a"), "/api/decide");
        // The box is written first, then the decision (a crash between leaves it pending, never accepted and absent).
        Assert.Equal(before.Count + 1, Labels(image).Count);
        Assert.Equal(ReviewDecision.Accepted, Set("preview").Samples.Single(s => s.SampleId == image).Detections[first].Decision);
        var added = Labels(image)[^1];
        Assert.Equal(proposals[first].ToLabeledBox(), added);
        Assert.Equal(proposals[first].Provenance.Score, added.Score); // the score is kept with the box

        // The accepted box left the pending list; the next one is selected: reject it.
        await Assertions.Expect(page.Locator("#boxList li[data-kind=p]")).ToHaveCountAsync(proposals.Count - 1);
        var second = await SelectedProposalAsync(page);
        Assert.NotEqual(first, second);
        await WrittenAsync(page, () => page.Keyboard.PressAsync("r"), "/api/decide");
        Assert.Equal(ReviewDecision.Rejected, Set("preview").Samples.Single(s => s.SampleId == image).Detections[second].Decision);
        Assert.Equal(before.Count + 1, Labels(image).Count); // a rejected box never reaches the labels

        await WrittenAsync(page, () => page.Keyboard.PressAsync("u"), "/api/undo");
        Assert.Null(Set("preview").Samples.Single(s => s.SampleId == image).Detections[second].Decision); // the rejection undone
        await WrittenAsync(page, () => page.Keyboard.PressAsync("u"), "/api/undo");
        Assert.Equal(before.Count, Labels(image).Count); // the acceptance undone: the box left the labels file
        Assert.Equal(before, Labels(image));
        Assert.All(Set("preview").Samples.Single(s => s.SampleId == image).Detections, d => Assert.Null(d.Decision));
    }

    [SkippableFact]
    public async Task TheSliderFiltersLive_AndAcceptsEveryBoxOfALabelAboveIt_RejectingTheRestBelow()
    {
        // A set with spread scores, as a model with real weights gives: two labels on two images.
        var images = new[] { "busy-800x450.jpg", "wide-640x360.jpg" };
        ProposedBox[] boxes = [Box("cat", 10, 10, 0.92), Box("cat", 120, 10, 0.61), Box("cat", 230, 10, 0.34), Box("dog", 10, 150, 0.88), Box("dog", 120, 150, 0.22)];
        new ProposalStore(_dataset).Save(new ProposalSet
        {
            JobId = "spread",
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = "m",
            ModelType = "owlv2",
            Prompt = "cat\ndog",
            DeleteExisting = "no",
            Samples = images.Select(i => new SampleProposal(i, [], [.. boxes.Select(b => b.ToLabeledBox())], new Dictionary<string, string>(), boxes)).ToList(),
        });
        var page = await OpenAsync();
        await Assertions.Expect(page.Locator("rect.proposal")).ToHaveCountAsync(10);

        await page.GetByTestId("label").SelectOptionAsync("cat");
        await page.GetByTestId("score").FillAsync("0.5");
        // Live: only cats at 0.5 or more are drawn, before anything is written.
        await Assertions.Expect(page.Locator("rect.proposal")).ToHaveCountAsync(4);
        Assert.False(File.Exists(Path.Combine(_dataset, LabelsFile.FileName)) && images.Any(i => Labels(i).Count > 0));

        await WrittenAsync(page, () => page.GetByTestId("accept-shown").ClickAsync(), "/api/decide");
        Assert.All(images, i => Assert.Equal(2, Labels(i).Count)); // two cats accepted on each image
        Assert.All(images, i => Assert.Equal(["cat@10 0.92", "cat@120 0.61"], Labels(i).Select(b => $"{b.Label}@{b.X} {b.Score}")));

        await WrittenAsync(page, () => page.GetByTestId("reject-below").ClickAsync(), "/api/decide");
        Assert.All(Set("spread").Samples, s => Assert.Single(s.Detections, d => d.Decision == ReviewDecision.Rejected)); // the cat below 0.5, on each image
        var set = Set("spread");
        Assert.All(set.Samples, s => Assert.Equal(
            ["Accepted", "Accepted", "Rejected", "pending", "pending"],
            s.Detections.Select(d => d.Decision?.ToString() ?? "pending")));
        Assert.All(images, i => Assert.Equal(2, Labels(i).Count)); // dogs untouched, rejected cat absent

        // What is left applies as one set: the pending dogs only, the decided cats as decided.
        using var output = new StringWriter();
        Assert.Equal(OwlboxCli.Ok, await OwlboxCli.RunAsync(["proposals", "apply", _dataset, "spread"], output, output));
        Assert.All(images, i => Assert.Equal(["cat@10", "cat@120", "dog@10", "dog@120"], Labels(i).Select(b => $"{b.Label}@{b.X}").Order()));
    }

    [SkippableFact]
    public async Task TriageFilters_ShowWhatTheModelMissedAndFoundExtra_AndALabelCanBeRemoved()
    {
        await ProposeAsync("preview");
        var page = await OpenAsync();
        // labeled-600x400.jpg holds a "person" and a "red" box the prompt's boxes do not find.
        await page.GetByTestId("triage").SelectOptionAsync("missed");
        await Assertions.Expect(page.Locator("[data-testid=card]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-image='labeled-600x400.jpg'] rect.missed")).ToHaveCountAsync(2);

        await page.GetByTestId("triage").SelectOptionAsync("extra");
        var withExtras = Set("preview").Samples.Count(s => s.Detections.Count > 0);
        await Assertions.Expect(page.Locator("[data-testid=card]")).ToHaveCountAsync(withExtras);

        await page.GetByTestId("triage").SelectOptionAsync("all");
        await page.Locator("[data-image='labeled-600x400.jpg']").ClickAsync();
        await page.Locator("#boxList li[data-kind=l]").First.ClickAsync();
        var before = Labels("labeled-600x400.jpg");
        await WrittenAsync(page, () => page.Keyboard.PressAsync("Delete"), "/api/remove-labels");
        Assert.Equal(before.Count - 1, Labels("labeled-600x400.jpg").Count); // the label removed
        Assert.Equal(before.Skip(1), Labels("labeled-600x400.jpg"));
        await WrittenAsync(page, () => page.Keyboard.PressAsync("u"), "/api/undo");
        Assert.Equal(before, Labels("labeled-600x400.jpg")); // the label back in its place
    }

    [SkippableFact]
    public async Task ACalibration_IsShown_AndUsingItSetsTheLabelAndTheSlider()
    {
        File.Delete(Path.Combine(_dataset, LabelsFile.FileName));
        await RunAsync("label", _dataset, "--model", Path.Combine(s_root, "models", "owlv2-test"), "--prompt-file", Path.Combine(s_root, "samples", "prompt.txt"));
        await RunAsync("calibrate", _dataset, "--model", Path.Combine(s_root, "models", "owlv2-test"), "--prompt-file", Path.Combine(s_root, "samples", "prompt.txt"));
        var calibration = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dataset, ".owlbox", "calibration.json"))).RootElement;
        var red = calibration.GetProperty("labels").EnumerateArray().Single(l => l.GetProperty("label").GetString() == "red");
        var page = await OpenAsync();

        var section = page.GetByTestId("calibration");
        await Assertions.Expect(section).ToBeVisibleAsync();
        await Assertions.Expect(section.Locator("tr")).ToHaveCountAsync(1 + calibration.GetProperty("labels").GetArrayLength());
        var row = section.Locator("tr", new() { HasText = "red" });
        await Assertions.Expect(row).ToContainTextAsync(red.GetProperty("threshold").GetDouble().ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
        await row.GetByRole(AriaRole.Button, new() { Name = "use" }).ClickAsync();

        await Assertions.Expect(page.GetByTestId("label")).ToHaveValueAsync("red"); // waits for the page to apply it
        Assert.Equal(red.GetProperty("threshold").GetDouble(), double.Parse(await page.GetByTestId("score").InputValueAsync(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [SkippableFact]
    public async Task ADatasetLargerThanAPage_IsPaged_NextAndPreviousShowTheOtherImages_AndAcceptShownTakesThisPageOnly()
    {
        for (var i = 0; i < 150; i++)
        {
            File.Copy(Path.Combine(_dataset, "wide-640x360.jpg"), Path.Combine(_dataset, $"page-{i:D3}.jpg"));
        }
        var images = LocalDataset.List(_dataset).Samples.Select(s => s.Id).ToArray(); // 156, in the page's (name) order
        new ProposalStore(_dataset).Save(new ProposalSet
        {
            JobId = "paged",
            CreatedUtc = DateTimeOffset.UtcNow,
            ModelId = "m",
            ModelType = "owlv2",
            Prompt = "cat",
            DeleteExisting = "no",
            Samples = images.Select(i => new SampleProposal(i, [], [], new Dictionary<string, string>(), [Box("cat", 10, 10, 0.9)])).ToList(),
        });
        var page = await OpenAsync();
        var cards = page.Locator("[data-testid=card]");
        await Assertions.Expect(cards).ToHaveCountAsync(100);
        await Assertions.Expect(cards.First).ToHaveAttributeAsync("data-image", images[0]);
        await Assertions.Expect(page.GetByTestId("page-info")).ToHaveTextAsync("page 1 of 2 (images 1-100 of 156)");
        await Assertions.Expect(page.GetByTestId("counts")).ToContainTextAsync("156 images · 156 pending");
        await Assertions.Expect(page.GetByTestId("prev-page")).ToBeDisabledAsync();

        await page.GetByTestId("next-page").ClickAsync();
        await Assertions.Expect(cards.First).ToHaveAttributeAsync("data-image", images[100]);
        await Assertions.Expect(cards).ToHaveCountAsync(56);
        await Assertions.Expect(cards.Last).ToHaveAttributeAsync("data-image", images[^1]);
        await Assertions.Expect(page.GetByTestId("page-info")).ToHaveTextAsync("page 2 of 2 (images 101-156 of 156)");
        await Assertions.Expect(page.GetByTestId("next-page")).ToBeDisabledAsync();

        await page.Keyboard.PressAsync("[");
        await Assertions.Expect(cards.First).ToHaveAttributeAsync("data-image", images[0]);
        await Assertions.Expect(cards).ToHaveCountAsync(100);

        // "Shown" is this page: its 100 boxes, none of the next page's.
        StringAssert(await page.GetByTestId("accept-shown").GetAttributeAsync("title"), "on this page");
        await Assertions.Expect(page.GetByTestId("accept-shown")).ToHaveTextAsync("Accept shown (100)");
        await WrittenAsync(page, () => page.GetByTestId("accept-shown").ClickAsync(), "/api/decide");
        var set = Set("paged");
        Assert.All(set.Samples, s => Assert.Equal(Array.IndexOf(images, s.SampleId) < 100 ? ReviewDecision.Accepted : null, s.Detections[0].Decision));
        Assert.Equal(["cat"], Labels(images[99]).Where(b => b.X == 10 && b.Y == 10).Select(b => b.Label));
        Assert.Empty(Labels(images[100]));
        await Assertions.Expect(page.GetByTestId("counts")).ToContainTextAsync("156 images · 56 pending · 100 accepted");

        // Only images with pending boxes: the server pages through those, so the 56 left are one page.
        await page.GetByTestId("triage").SelectOptionAsync("pending");
        await Assertions.Expect(page.GetByTestId("page-info")).ToHaveTextAsync("page 1 of 1 (images 1-56 of 56)");
        await Assertions.Expect(cards.First).ToHaveAttributeAsync("data-image", images[100]);
        await Assertions.Expect(cards).ToHaveCountAsync(56);
    }

    private static void StringAssert(string? text, string part) => Assert.Contains(part, text ?? "", StringComparison.Ordinal);

    private static async Task RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        var exit = await OwlboxCli.RunAsync(args, output, output);
        Assert.True(exit == OwlboxCli.Ok, output.ToString());
    }

    [SkippableFact]
    public async Task TheApi_RefusesARequestWithoutTheToken_AndImagesOutsideTheDataset()
    {
        var page = await OpenAsync();
        var origin = new Uri(_server!.Url).GetLeftPart(UriPartial.Authority);
        var noToken = await page.APIRequest.GetAsync(origin + "/api/state");
        Assert.Equal(401, noToken.Status);
        var token = new Uri(_server.Url).Query.Split("t=")[1];
        var outside = await page.APIRequest.GetAsync($"{origin}/api/image?id=..%2F..%2Fetc%2Fpasswd&t={token}");
        Assert.Equal(404, outside.Status);
        var decide = await page.APIRequest.PostAsync(origin + "/api/decide", new() { DataObject = new { set = "x", decision = "accept", boxes = Array.Empty<object>() } });
        Assert.Equal(401, decide.Status);
    }

    private static async Task<int> SelectedProposalAsync(IPage page)
    {
        var selected = page.Locator("#boxList li.selected[data-kind=p]");
        await selected.WaitForAsync();
        return int.Parse((await selected.GetAttributeAsync("data-index"))!, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ProposedBox Box(string label, int x, int y, double score) =>
        new(label, x, y, 100, 100, new BoxProvenance("m", label == "cat" ? 1 : 2, label, score, 0.1, 0.1, true, 0.2, false, 0, 0));
}
