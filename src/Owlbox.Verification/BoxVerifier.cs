using System.Text.Json;
using Microsoft.Extensions.AI;
using Owlbox.Detection.Imaging;

namespace Owlbox.Verification;

/// <summary>One box as the verifier sees it: its label, where it is (image pixels, display orientation) and its
/// detector score (null for a hand-drawn box).</summary>
public sealed record VerifyBox(string Label, PixelBox Box, double? Score = null);

/// <summary>One image's outcome: a decision per box (in the order given), the tokens spent, calls made and cache hits.</summary>
public sealed record ImageVerification(IReadOnlyList<BoxDecision> Decisions, TokenUsage Usage, int Calls, int CacheHits)
{
    /// <summary>Some box could not be verified: the sample should be reported failed and its boxes left unchanged.</summary>
    public bool Failed => Decisions.Any(d => d.IsFailure);
}

/// <summary>
/// The verification stage for one run: for each selected box of an image, crops it (padded, clipped, upscaled when
/// small), encodes a JPEG, and asks the model the prompt with the crop (as the relabel block does: one user message
/// with the prompt text and the crop as a base64 data URL, <c>detail</c> from image-quality), unless the answer is
/// cached or the budget is spent. Answers are judged by <see cref="AnswerNormaliser"/>. One box's failure fails that
/// box alone; a setup error (wrong key, missing model) throws <see cref="LlmCallException"/>.
/// Thread-safe: one instance serves every image of a run and bounds the calls in flight across all of them.
/// </summary>
public sealed class BoxVerifier : IDisposable
{
    private readonly IChatClient _client;
    private readonly VerifierOptions _options;
    private readonly IAnswerCache _cache;
    private readonly CallBudget _budget;
    private readonly SemaphoreSlim _slots;
    private readonly HashSet<string> _which;
    private readonly IReadOnlyList<string> _allowedAnswers;
    private readonly JsonElement? _schema;
    private volatile bool _structured;
    private long _inputTokens;
    private long _outputTokens;
    private long _calls;
    private long _hits;

    public BoxVerifier(IChatClient client, VerifierOptions options, IAnswerCache? cache = null, CallBudget? budget = null)
    {
        if (options.Concurrency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Concurrency, "concurrency must be at least 1");
        }
        (_client, _options, _cache, _budget) = (client, options, cache ?? NoAnswerCache.Instance, budget ?? new CallBudget());
        _slots = new SemaphoreSlim(options.Concurrency);
        _which = options.WhichLabels.Select(l => l.Trim().ToLowerInvariant()).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal);
        _allowedAnswers = options.AllowedAnswers;
        _schema = _allowedAnswers.Count > 0 ? AnswerSchema(_allowedAnswers) : null;
        _structured = options.StructuredOutput && _schema is not null;
    }

    public CallBudget Budget => _budget;

    /// <summary>Tokens spent by this verifier so far (all images).</summary>
    public TokenUsage Usage => new(Interlocked.Read(ref _inputTokens), Interlocked.Read(ref _outputTokens));

    public long Calls => Interlocked.Read(ref _calls);

    public long CacheHits => Interlocked.Read(ref _hits);

    /// <summary>Verifies the boxes of one image (its file's bytes; decoded with EXIF orientation applied).</summary>
    /// <exception cref="ImageDecodeException">The image cannot be decoded (the caller fails the sample).</exception>
    /// <exception cref="LlmCallException">A setup error: every call would fail the same way.</exception>
    public async Task<ImageVerification> VerifyAsync(byte[] image, IReadOnlyList<VerifyBox> boxes, CancellationToken cancellationToken)
    {
        var decisions = new BoxDecision[boxes.Count];
        var asked = new List<int>();
        for (var i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            if (Skip(b) is { } kind)
            {
                decisions[i] = new BoxDecision(i, kind, b.Label, b.Label);
            }
            else
            {
                asked.Add(i);
            }
        }
        if (asked.Count == 0)
        {
            return new ImageVerification(decisions, TokenUsage.Zero, 0, 0);
        }
        using var decoded = ImageDecoder.Decode(image);
        using var renderer = new CropRenderer(decoded);
        var results = await Task.WhenAll(asked.Select(i => VerifyOneAsync(i, boxes[i], renderer, cancellationToken))).ConfigureAwait(false);
        var usage = TokenUsage.Zero;
        var (calls, hits) = (0, 0);
        foreach (var r in results)
        {
            decisions[r.Decision.Index] = r.Decision;
            usage = usage.Add(r.Usage);
            calls += r.Called ? 1 : 0;
            hits += r.Decision.Cached ? 1 : 0;
        }
        return new ImageVerification(decisions, usage, calls, hits);
    }

    /// <summary>Whether the box is one to ask about (its label selected, its score below verify-below or none): a
    /// caller with no such box in an image need not read the image at all.</summary>
    public bool Asks(VerifyBox box) => Skip(box) is null;

    private DecisionKind? Skip(VerifyBox b) =>
        _which.Count > 0 && !_which.Contains(b.Label.Trim().ToLowerInvariant()) ? DecisionKind.NotSelected
        : _options.VerifyBelow is { } below && b.Score is { } score && score >= below ? DecisionKind.ScoreAbove
        : null;

    private async Task<OneResult> VerifyOneAsync(int index, VerifyBox box, CropRenderer renderer, CancellationToken cancellationToken)
    {
        if (CropGeometry.Plan(box.Box, renderer.Width, renderer.Height, _options.Crop) is not { } plan)
        {
            return new OneResult(new BoxDecision(index, DecisionKind.OffImage, box.Label, box.Label,
                Reason: $"the box ({box.Box.X:0.#}, {box.Box.Y:0.#}, {box.Box.Width:0.#}x{box.Box.Height:0.#}) has no pixels inside the {renderer.Width}x{renderer.Height} image"),
                TokenUsage.Zero, false);
        }
        var jpeg = renderer.Encode(plan, _options.JpegQuality);
        var key = AnswerCacheKey.Compute(jpeg, _options.Model, _options.Prompt, _options.DetailWord, _allowedAnswers);
        if (await _cache.TryGetAsync(key, cancellationToken).ConfigureAwait(false) is { } cached)
        {
            Interlocked.Increment(ref _hits);
            return new OneResult(Decide(index, box, cached.Model, cached.RawAnswer, cached: true), TokenUsage.Zero, false);
        }
        if (!_budget.TryTake())
        {
            return new OneResult(new BoxDecision(index, DecisionKind.BudgetSpent, box.Label, box.Label), TokenUsage.Zero, false);
        }
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _calls);
            var (raw, model, usage) = await AskAsync(jpeg, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _inputTokens, usage.InputTokens);
            Interlocked.Add(ref _outputTokens, usage.OutputTokens);
            var decision = Decide(index, box, model, raw, cached: false);
            // Only a readable answer is kept: an invalid one is asked again next run rather than fail forever.
            if (decision.Kind != DecisionKind.Failed)
            {
                await _cache.PutAsync(key, new CachedAnswer(model, raw, DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
            }
            return new OneResult(decision, usage, true);
        }
        catch (LlmCallException e) when (!e.IsSetupError)
        {
            return new OneResult(new BoxDecision(index, DecisionKind.Failed, box.Label, box.Label, _options.Model, Reason: e.Message), TokenUsage.Zero, true);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<(string Raw, string Model, TokenUsage Usage)> AskAsync(byte[] jpeg, CancellationToken cancellationToken)
    {
        var image = new DataContent(jpeg, "image/jpeg")
        {
            // Microsoft.Extensions.AI.OpenAI sends this as image_url.detail.
            AdditionalProperties = new AdditionalPropertiesDictionary { ["detail"] = _options.DetailWord },
        };
        ChatMessage[] messages = [new(ChatRole.User, [new TextContent(_options.Prompt), image])];
        var structured = _structured;
        var chatOptions = new ChatOptions { ModelId = _options.Model };
        if (structured)
        {
            chatOptions.ResponseFormat = ChatResponseFormat.ForJsonSchema(_schema!.Value, "box_label", "The label for the object in the picture");
        }
        ChatResponse response;
        try
        {
            response = await _client.GetResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (LlmCallException e) when (structured && e.Status == 400)
        {
            // A server without structured output (older Ollama, some proxies) refuses response_format: ask plainly
            // and read the answer leniently from now on.
            _structured = false;
            chatOptions.ResponseFormat = null;
            response = await _client.GetResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false);
        }
        var usage = new TokenUsage(response.Usage?.InputTokenCount ?? 0, response.Usage?.OutputTokenCount ?? 0);
        return (response.Text ?? "", response.ModelId ?? _options.Model, usage);
    }

    private BoxDecision Decide(int index, VerifyBox box, string model, string raw, bool cached)
    {
        var reason = AnswerNormaliser.TryReadReason(raw);
        return AnswerNormaliser.Judge(raw, box.Label, _options.AllowedLabels, _options.DisableLabels) switch
        {
            Verdict.Keep => new BoxDecision(index, DecisionKind.Kept, box.Label, box.Label, model, raw, reason, cached),
            Verdict.Relabel r => new BoxDecision(index, DecisionKind.Relabelled, r.To, box.Label, model, raw, reason, cached),
            Verdict.Remove => new BoxDecision(index, DecisionKind.Removed, box.Label, box.Label, model, raw, reason, cached),
            _ => new BoxDecision(index, DecisionKind.Failed, box.Label, box.Label, model, raw,
                _allowedAnswers.Count == 0
                    ? "the model gave an empty answer"
                    : $"the answer \"{Shorten(raw)}\" is not one of the allowed answers ({string.Join(", ", _allowedAnswers)})", cached),
        };
    }

    private static string Shorten(string s)
    {
        s = s.ReplaceLineEndings(" ").Trim();
        return s.Length <= 80 ? s : s[..80] + "...";
    }

    /// <summary>{"label": one of the allowed answers}, strict (OpenAI's structured outputs need
    /// additionalProperties false and every property required).</summary>
    private static JsonElement AnswerSchema(IReadOnlyList<string> allowed)
    {
        var schema = new
        {
            type = "object",
            properties = new { label = new { type = "string", @enum = allowed } },
            required = new[] { "label" },
            additionalProperties = false,
        };
        return JsonSerializer.SerializeToElement(schema);
    }

    public void Dispose() => _slots.Dispose();

    private sealed record OneResult(BoxDecision Decision, TokenUsage Usage, bool Called);
}
