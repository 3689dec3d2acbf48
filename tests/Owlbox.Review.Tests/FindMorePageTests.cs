using Microsoft.Playwright;
using Owlbox.Cli.Review;
using Owlbox.Cli.Tests;
using Owlbox.Datasets.Proposals;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Review.Tests;

/// <summary>"Find more like this" in headless Chromium (issue 26): on a hand box over a red square, the page asks the
/// server for a new proposal set and then shows it, with the red squares of the other images and no blue one. Without
/// a model the button is not there.</summary>
public sealed class FindMorePageTests(PreparedTestModel model) : IClassFixture<PreparedTestModel>, IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("owlbox-review-find-").FullName;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private ReviewServer? _server;

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
        Directory.Delete(_root, recursive: true);
    }

    private async Task<IPage> OpenAsync(string folder, ReviewModel? with, string image)
    {
        Skip.If(_browser is null, "no chromium: .ci/services.sh installs Debian's (or set OWLBOX_CHROMIUM)");
        _server = await ReviewServer.StartAsync(folder, 0, CancellationToken.None, with);
        var page = await _browser!.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        await page.GotoAsync(_server.Url);
        await page.Locator($"[data-image='{image}']").ClickAsync();
        await Assertions.Expect(page.GetByTestId("viewer-title")).ToContainTextAsync(image);
        return page;
    }

    [SkippableFact]
    public async Task FindMoreOnAHandBox_ShowsANewSet_WithTheRedSquaresOfTheOtherImages_AndNoBlueOne()
    {
        var (folder, truth) = ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, "shapes")).FullName, "thing");
        var files = truth.Keys.Order(StringComparer.Ordinal).ToArray();
        var page = await OpenAsync(folder, new ReviewModel(model.Model), files[0]);

        // The image's one box, its hand label, is selected on opening.
        await Assertions.Expect(page.Locator("[data-testid=box].selected")).ToContainTextAsync("thing");
        await page.GetByTestId("find-more").ClickAsync();

        await Assertions.Expect(page.GetByTestId("set")).ToHaveValueAsync("more-1", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("status")).ToContainTextAsync("proposal set more-1");
        foreach (var file in files.Skip(3))
        {
            await Assertions.Expect(page.Locator($"[data-image='{file}'] rect.proposal")).ToHaveCountAsync(1);
        }
        var set = new ProposalStore(folder).Load("more-1");
        foreach (var (file, (red, blue)) in truth)
        {
            var found = set.Samples.Where(s => s.SampleId == file).SelectMany(s => s.Detections).Select(d => new PixelBox(d.X, d.Y, d.Width, d.Height)).ToArray();
            Assert.DoesNotContain(found, f => f.IoU(blue) > 0);
            if (Array.IndexOf(files, file) >= 3)
            {
                Assert.True(found.Length == 1 && found[0] == red, $"{file}: proposed {string.Join(" ", found)}, red square {red}");
            }
        }
    }

    [SkippableFact]
    public async Task WithoutAModel_ThereIsNoFindMoreButton()
    {
        var (folder, truth) = ExampleScenes.Write(Directory.CreateDirectory(Path.Combine(_root, "shapes")).FullName, "thing");
        var page = await OpenAsync(folder, with: null, truth.Keys.Order(StringComparer.Ordinal).First());

        await Assertions.Expect(page.Locator("[data-testid=box].selected")).ToContainTextAsync("thing");
        await Assertions.Expect(page.GetByTestId("find-more")).ToBeHiddenAsync();
    }
}
