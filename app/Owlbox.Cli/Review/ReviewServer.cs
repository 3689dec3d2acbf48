using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Owlbox.Datasets;
using Owlbox.Datasets.Local;
using Owlbox.Datasets.Proposals;
using Owlbox.Datasets.Review;
using Owlbox.Labeling.Boxes;
using Owlbox.ServiceDefaults;

namespace Owlbox.Cli.Review;

/// <summary>
/// The review page's web server: one dataset, loopback only, every endpoint but the page itself requiring the session
/// token printed with the URL and every change coming from the page itself (<see cref="ReviewAuthorization"/>: another
/// site open in the same browser can neither read the dataset nor change it), and a DNS-rebound host name refused.
/// Reads build the page's state, a page of images at a time, from the files as they are now
/// (<see cref="ReviewStateCache"/>); changes go through <see cref="DatasetReview"/>, the locked write path, each one
/// record of the label journal, folded into the labels file when the page is quiet and at stop
/// (<see cref="ReviewFolding"/>).
/// </summary>
public sealed class ReviewServer : IAsyncDisposable
{
    public const int MaxBoxesPerRequest = 100_000;

    /// <summary>Largest request body: a decision on <see cref="MaxBoxesPerRequest"/> boxes fits.</summary>
    public const long MaxBodyBytes = 4 << 20;

    /// <summary>Largest undo body: the page sends <c>{}</c>.</summary>
    public const long MaxUndoBodyBytes = 1024;

    /// <summary>Largest "find more like this" body: one box.</summary>
    public const long MaxFindMoreBodyBytes = 4096;

    /// <summary>The page's session (one per tab, made when the page loads): each has its own undo stack.</summary>
    private const string SessionHeader = "X-Owlbox-Session";
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private readonly WebApplication _app;
    private readonly ReviewFolding _folding;
    private readonly CancellationTokenSource _stopFolding;
    private readonly Task _foldLoop;

    private ReviewServer(WebApplication app, string url, ReviewFolding folding)
    {
        (_app, Url, _folding) = (app, url, folding);
        _stopFolding = new CancellationTokenSource();
        _foldLoop = folding.RunAsync(_stopFolding.Token);
    }

    /// <summary>The routes served (for tests that try every one).</summary>
    public IEndpointRouteBuilder Routes => _app;

    /// <summary>The page's address, token included.</summary>
    public string Url { get; }

    /// <param name="model">The model "find more like this" runs (<c>--model</c>); without one the page has no such
    /// button and the endpoint says why.</param>
    public static async Task<ReviewServer> StartAsync(string dataset, int port, CancellationToken cancellationToken, ReviewModel? model = null)
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
            k.Limits.MaxRequestBodySize = MaxBodyBytes; // no endpoint takes more; each also carries its own limit
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)); // a stop is prompt
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase);
        // A body that is not the JSON an endpoint takes is thrown, so it is answered below in words, not an empty 400.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddReviewAuthorization(token);
        var app = builder.Build();
        var review = new DatasetReview(directory, journaled: true); // a click costs its boxes, not the dataset
        var folding = new ReviewFolding(directory);
        folding.FoldFailed += e => app.Logger.LogWarning(
            "the page's clicks are safe in .owlbox/labels.journal but not yet in the labels file ({Reason}); folding is tried again in a moment and when the page stops",
            e.Message);
        var access = new LocalDatasetAccess([directory]);
        app.Use(async (context, next) =>
        {
            if (context.Request.Host.Host is not ("127.0.0.1" or "localhost"))
            {
                // A rebound DNS name: not this page. Said in words, without echoing the name back into the page.
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsJsonAsync(new { error = "this page answers only at http://127.0.0.1 or http://localhost (the Host header names another server)" }).ConfigureAwait(false);
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
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                context.Response.StatusCode = e.StatusCode;
                await context.Response.WriteAsJsonAsync(new { error = BadRequestText(context.Request, e) }).ConfigureAwait(false);
            }
        });
        // Who may call is decided per endpoint (the token on every one not marked anonymous, and changes only from the
        // page itself: ReviewAuthorization), after routing and before any endpoint reads a body.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseDeclaredBodyLimit((context, message) => context.Response.WriteAsJsonAsync(new { error = message }));
        app.MapGet("/", () => Results.Content(ReviewPage.Html, "text/html; charset=utf-8")).AllowAnonymous(); // no data in it
        var api = app.MapGroup("/api").WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes));
        // The state between requests: rebuilt for what changed, whole only when someone else wrote the files.
        var state = new ReviewStateCache(directory, review.Proposals);
        api.MapGet("/state", (string? set, string? offset, string? limit, string? only, HttpRequest http) =>
        {
            var (page, problem) = ReviewPaging.Parse(offset, limit, only);
            if (page is null)
            {
                return Results.BadRequest(new { error = problem });
            }
            try
            {
                return Results.Json(state.Get(set, page, review.CanUndo(Session(http))) with { FindMore = model is null ? null : Path.GetFileName(model.Directory) }, s_json);
            }
            catch (PageException e)
            {
                // The page knows where to go: the last page now.
                return Results.BadRequest(new { error = e.Message, matching = e.Matching, lastOffset = ReviewPaging.LastPageOffset(e.Matching, page.Limit) });
            }
        });
        api.MapGet("/image", (string id) =>
        {
            // Only the dataset's own images, by exact name: a file name with an image's extension, in the folder (never a
            // path a request makes up, nor a link out of the folder). A lookup, not a scan of the folder.
            if (!LocalDataset.HasImage(directory, id))
            {
                return Results.NotFound();
            }
            var path = Path.Combine(directory, id);
            try
            {
                access.RequireInside(path);
            }
            catch (DatasetException e)
            {
                return Results.Json(new { error = e.Message }, s_json, statusCode: StatusCodes.Status403Forbidden);
            }
            return Results.File(path, ContentTypes.GetValueOrDefault(Path.GetExtension(id).ToLowerInvariant(), "application/octet-stream"));
        });
        api.MapPost("/decide", async (DecideRequest request, HttpRequest http, CancellationToken ct) =>
        {
            if (request.Problem() is { } problem)
            {
                return Results.BadRequest(new { error = problem });
            }
            var decision = request.Decision == "accept" ? ReviewDecision.Accepted : ReviewDecision.Rejected;
            var changed = await review.DecideAsync(Session(http), request.Boxes!.Select(b => new ProposalRef(request.Set!, b!.Image!, b.Index!.Value)).ToArray(), decision, ct).ConfigureAwait(false);
            state.Refresh(changed);
            folding.Changed();
            return Results.Json(new { changed }, s_json);
        });
        api.MapPost("/remove-labels", async (RemoveRequest request, HttpRequest http, CancellationToken ct) =>
        {
            if (request.Problem() is { } problem)
            {
                return Results.BadRequest(new { error = problem });
            }
            var changed = await review.RemoveLabelsAsync(Session(http), request.Image!, request.Boxes!.Select(b => new LabeledBox(b!.Label!, b.X!.Value, b.Y!.Value, b.Width!.Value, b.Height!.Value)).ToArray(), ct).ConfigureAwait(false);
            state.Refresh(changed);
            folding.Changed();
            return Results.Json(new { changed }, s_json);
        });
        api.MapPost("/undo", async (HttpRequest http, CancellationToken ct) =>
        {
            // Read whole before acting: a body over the limit (declared or not) or not a JSON object undoes nothing.
            if (await UndoBodyProblemAsync(http, ct).ConfigureAwait(false) is { } problem)
            {
                return Results.BadRequest(new { error = problem });
            }
            var changed = await review.UndoAsync(Session(http), ct).ConfigureAwait(false) ?? [];
            state.Refresh(changed);
            folding.Changed();
            return Results.Json(new { changed }, s_json);
        }).WithMetadata(new RequestSizeLimitAttribute(MaxUndoBodyBytes));
        // One search at a time: each runs the model over the whole dataset.
        var finding = new SemaphoreSlim(1, 1);
        api.MapPost("/find-more", async (FindMoreRequest request, CancellationToken ct) =>
        {
            if (model is null)
            {
                return Results.Json(new { error = FindMore.NoModel }, s_json, statusCode: StatusCodes.Status409Conflict);
            }
            if (request.Problem() is { } problem)
            {
                return Results.BadRequest(new { error = problem });
            }
            await finding.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var box = new LabeledBox(request.Label!, request.X!.Value, request.Y!.Value, request.Width!.Value, request.Height!.Value);
                var (set, boxes) = await FindMore.RunAsync(directory, model, request.Image!, box, request.MinConfidence ?? FindMore.DefaultMinConfidence, ct).ConfigureAwait(false);
                return Results.Json(new { set, boxes }, s_json);
            }
            catch (JobSetupException e)
            {
                return Results.BadRequest(new { error = e.Message });
            }
            finally
            {
                finding.Release();
            }
        }).WithMetadata(new RequestSizeLimitAttribute(MaxFindMoreBodyBytes));
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bound = new Uri(address).Port;
        return new ReviewServer(app, $"http://127.0.0.1:{bound}/?t={token}", folding);
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _stopFolding.CancelAsync().ConfigureAwait(false);
        await _foldLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopFolding.Dispose();
        try
        {
            await _folding.FoldAsync(CancellationToken.None).ConfigureAwait(false); // the labels file holds every decision when the page stops
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"the page stopped with its last clicks in .owlbox/labels.journal, not yet in the labels file ({e.Message}); the next owlbox command that opens the folder writes them there");
        }
    }

    /// <summary>The request's page session; a client that sends none (a script) shares one session.</summary>
    private static string Session(HttpRequest request) => request.Headers[SessionHeader].FirstOrDefault() is { Length: > 0 and <= 64 } s ? s : "";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".png"] = "image/png",
        [".webp"] = "image/webp",
        [".gif"] = "image/gif",
        [".bmp"] = "image/bmp",
    };

    /// <summary>What is wrong with an undo's body (empty, or a JSON object, <c>{}</c>); null when nothing is.</summary>
    private static async Task<string?> UndoBodyProblemAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken).ConfigureAwait(false); // past the limit: 413, thrown
        if (body.Length == 0)
        {
            return null;
        }
        try
        {
            using var json = JsonDocument.Parse(body.ToArray());
            return json.RootElement.ValueKind == JsonValueKind.Object ? null : "undo takes an empty JSON object ({}) as its body";
        }
        catch (JsonException)
        {
            return "the request body is not JSON; undo takes an empty JSON object ({})";
        }
    }

    /// <summary>What a request that did not bind is told: the body's field (JSON path) that is not what the call takes,
    /// or what is missing.</summary>
    private static string BadRequestText(HttpRequest request, BadHttpRequestException e) => e.InnerException switch
    {
        JsonException { Path: { Length: > 1 } path } => $"the request body's field '{path.TrimStart('$', '.')}' is not what this call takes",
        JsonException => "the request body is not the JSON object this call takes",
        _ when e.StatusCode == StatusCodes.Status413PayloadTooLarge =>
            $"the request body is larger than {request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? MaxBodyBytes:N0} bytes",
        // A change binds nothing but its body: anything else wrong with it is a body that is absent, empty or null.
        _ when !ReviewAuthorization.IsRead(request.Method) => "the request body is empty or null; this call takes a JSON object",
        _ => e.Message, // a required query parameter: the framework's message names it
    };

    // Request bodies: every field nullable, so a missing one is found by Problem() and named, not bound to a default.

    public sealed record BoxIndex(string? Image, int? Index);

    public sealed record DecideRequest(string? Set, string? Decision, IReadOnlyList<BoxIndex?>? Boxes)
    {
        /// <summary>The first thing wrong with the request, naming the field; null when it can be carried out.</summary>
        public string? Problem() =>
            Set is null ? Missing("set")
            : Decision is not ("accept" or "reject") ? (Decision is null ? Missing("decision") : "decision must be accept or reject")
            : Boxes is null ? Missing("boxes")
            : Boxes.Count > MaxBoxesPerRequest ? $"at most {MaxBoxesPerRequest} boxes per request"
            : Boxes.Select((b, i) => b is null ? Missing($"boxes[{i}]") : b.Image is null ? Missing($"boxes[{i}].image") : b.Index is null ? Missing($"boxes[{i}].index") : null)
                .FirstOrDefault(p => p is not null);
    }

    public sealed record LabelBox(string? Label, int? X, int? Y, int? Width, int? Height);

    public sealed record RemoveRequest(string? Image, IReadOnlyList<LabelBox?>? Boxes)
    {
        public string? Problem() =>
            Image is null ? Missing("image")
            : Boxes is null ? Missing("boxes")
            : Boxes.Count > MaxBoxesPerRequest ? $"at most {MaxBoxesPerRequest} boxes per request"
            : Boxes.Select((b, i) => b is null ? Missing($"boxes[{i}]")
                : new (string Name, object? Value)[] { ("label", b.Label), ("x", b.X), ("y", b.Y), ("width", b.Width), ("height", b.Height) }
                    .FirstOrDefault(f => f.Value is null) is { Name: { } name } ? Missing($"boxes[{i}].{name}") : null)
                .FirstOrDefault(p => p is not null);
    }

    /// <param name="MinConfidence">The new set's threshold (default <see cref="FindMore.DefaultMinConfidence"/>).</param>
    public sealed record FindMoreRequest(string? Image, string? Label, int? X, int? Y, int? Width, int? Height, double? MinConfidence)
    {
        public string? Problem() =>
            new (string Name, object? Value)[] { ("image", Image), ("label", Label), ("x", X), ("y", Y), ("width", Width), ("height", Height) }
                .FirstOrDefault(f => f.Value is null) is { Name: { } name } ? Missing(name)
            : Label!.Length == 0 ? "label must not be empty"
            : Width <= 0 || Height <= 0 ? "width and height must be positive"
            : MinConfidence is < 0 or > 1 ? "minConfidence must be between 0 and 1"
            : null;
    }

    private static string Missing(string field) => $"the request body has no '{field}'";
}
