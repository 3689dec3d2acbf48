using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Review;
using Owlbox.Labeling.Boxes;

namespace Owlbox.Cli.Review;

/// <summary>
/// The review page's web server: one dataset, loopback only, every API call carrying the session token printed with
/// the URL (another site open in the same browser can neither read the dataset nor change it: it has no token, and a
/// DNS-rebound host name is refused). Reads build the page's state from the files as they are now; changes go
/// through <see cref="DatasetReview"/>, the locked write path.
/// </summary>
public sealed class ReviewServer : IAsyncDisposable
{
    public const int MaxBoxesPerRequest = 100_000;
    private const string TokenHeader = "X-Owlbox-Token";

    /// <summary>The page's session (one per tab, made when the page loads): each has its own undo stack.</summary>
    private const string SessionHeader = "X-Owlbox-Session";
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private readonly WebApplication _app;

    private ReviewServer(WebApplication app, string url) => (_app, Url) = (app, url);

    /// <summary>The page's address, token included.</summary>
    public string Url { get; }

    public static async Task<ReviewServer> StartAsync(string dataset, int port, CancellationToken cancellationToken)
    {
        var directory = Path.GetFullPath(dataset);
        LocalDataset.CheckFolder(directory);
        _ = LocalDataset.Open(directory); // an invalid labels file stops here, with its reason
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = 4 << 20;
        });
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase);
        var app = builder.Build();
        var review = new DatasetReview(directory);
        app.Use(async (context, next) =>
        {
            if (context.Request.Host.Host is not ("127.0.0.1" or "localhost"))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest; // a rebound DNS name: not this page
                return;
            }
            if (context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
                && !CryptographicOperations.FixedTimeEquals(
                    System.Text.Encoding.UTF8.GetBytes(context.Request.Headers[TokenHeader].FirstOrDefault() ?? context.Request.Query["t"].FirstOrDefault() ?? ""),
                    System.Text.Encoding.UTF8.GetBytes(token)))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsync("open the address owlbox review printed (it carries the session token)").ConfigureAwait(false);
                return;
            }
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (DatasetException e)
            {
                context.Response.StatusCode = StatusCodes.Status409Conflict;
                await context.Response.WriteAsJsonAsync(new { error = e.Message }).ConfigureAwait(false);
            }
        });
        app.MapGet("/", () => Results.Content(ReviewPage.Html, "text/html; charset=utf-8"));
        // The images the page was last told about: a thumbnail request is a set lookup, not a scan of the folder.
        var images = LocalDataset.Open(directory).Samples.ToDictionary(s => s.Id, s => s.FullPath, StringComparer.Ordinal);
        app.MapGet("/api/state", (string? set, HttpRequest http) =>
        {
            var dataset = LocalDataset.Open(directory);
            Volatile.Write(ref images, dataset.Samples.ToDictionary(s => s.Id, s => s.FullPath, StringComparer.Ordinal));
            return Results.Json(ReviewState.Build(dataset, review.Proposals, set, review.CanUndo(Session(http))), s_json);
        });
        app.MapGet("/api/image", (string id) =>
            // Only the dataset's own images, by exact name: never a path a request makes up.
            Volatile.Read(ref images).TryGetValue(id, out var path) && File.Exists(path)
                ? Results.File(path, ContentTypes.GetValueOrDefault(Path.GetExtension(id).ToLowerInvariant(), "application/octet-stream"))
                : Results.NotFound());
        app.MapPost("/api/decide", async (DecideRequest request, HttpRequest http, CancellationToken ct) =>
        {
            if (request.Boxes.Count > MaxBoxesPerRequest)
            {
                return Results.BadRequest(new { error = $"at most {MaxBoxesPerRequest} boxes per request" });
            }
            var decision = request.Decision switch
            {
                "accept" => ReviewDecision.Accepted,
                "reject" => ReviewDecision.Rejected,
                _ => (ReviewDecision?)null,
            };
            if (decision is null)
            {
                return Results.BadRequest(new { error = "decision must be accept or reject" });
            }
            var changed = await review.DecideAsync(Session(http), request.Boxes.Select(b => new ProposalRef(request.Set, b.Image, b.Index)).ToArray(), decision.Value, ct).ConfigureAwait(false);
            return Results.Json(new { changed }, s_json);
        });
        app.MapPost("/api/remove-labels", async (RemoveRequest request, HttpRequest http, CancellationToken ct) =>
        {
            if (request.Boxes.Count > MaxBoxesPerRequest)
            {
                return Results.BadRequest(new { error = $"at most {MaxBoxesPerRequest} boxes per request" });
            }
            var changed = await review.RemoveLabelsAsync(Session(http), request.Image, request.Boxes.Select(b => new LabeledBox(b.Label, b.X, b.Y, b.Width, b.Height)).ToArray(), ct).ConfigureAwait(false);
            return Results.Json(new { changed }, s_json);
        });
        app.MapPost("/api/undo", async (HttpRequest http, CancellationToken ct) =>
            Results.Json(new { changed = await review.UndoAsync(Session(http), ct).ConfigureAwait(false) ?? [] }, s_json));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bound = new Uri(address).Port;
        return new ReviewServer(app, $"http://127.0.0.1:{bound}/?t={token}");
    }

    /// <summary>The request's page session; a client that sends none (a script) shares one session.</summary>
    private static string Session(HttpRequest request) => request.Headers[SessionHeader].FirstOrDefault() is { Length: > 0 and <= 64 } s ? s : "";

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".png"] = "image/png", [".webp"] = "image/webp", [".gif"] = "image/gif", [".bmp"] = "image/bmp",
    };

    public sealed record BoxIndex(string Image, int Index);

    public sealed record DecideRequest(string Set, string Decision, IReadOnlyList<BoxIndex> Boxes);

    public sealed record LabelBox(string Label, int X, int Y, int Width, int Height);

    public sealed record RemoveRequest(string Image, IReadOnlyList<LabelBox> Boxes);
}
