using System.CommandLine;
using System.Globalization;
using Owlbox.Datasets;
using Owlbox.Labeling.Prompts;
using Owlbox.Verification;

namespace Owlbox.Cli;

/// <summary>The options of a verification by a vision language model, declared once for every verb that runs one
/// (<c>verify</c>, <c>eval --verify</c>, <c>relabel-block</c>). The names and defaults of the first six are the Edge
/// Impulse relabel block's (<see cref="VerifierOptions"/> holds the defaults).</summary>
public sealed class VerifyOptionGroup
{
    /// <summary>Where the key comes from, as for the original block.</summary>
    public const string KeyVariable = "OPENAI_API_KEY";

    private static readonly VerifierOptions s_defaults = new();
    private static readonly CropOptions s_crop = new();

    public Option<string> WhichLabels { get; } = CliOptions.Text("--which-labels", "comma list: verify the boxes of these labels (case-insensitive)", "labels", string.Join(",", s_defaults.WhichLabels));
    public Option<string> Prompt { get; } = CliOptions.Text("--prompt", "sent verbatim with each crop; a literal \\n is a newline", "text", VerifierOptions.DefaultPrompt);
    public Option<string> DisableLabels { get; } = CliOptions.Text("--disable-labels", "comma list: answers that remove the box", "answers", string.Join(",", s_defaults.DisableLabels));
    public Option<string> ImageQuality { get; } = CliOptions.Text("--image-quality", "auto | low | high (OpenAI's image detail)", "quality", "auto");
    public Option<double> Concurrency { get; } = CliOptions.Number("--concurrency", "model calls in flight at once", s_defaults.Concurrency, "n");
    public Option<string> DataIdsFile { get; } = CliOptions.Text("--data-ids-file", "JSON array of ids (file names or stems), or {\"ids\": [...]}: verify only these", "file");
    public Option<string> Labels { get; } = CliOptions.Text("--labels", "comma list: the answers that may become a label (default: the dataset's labels; '*': any answer, as the block); the disable words are allowed too", "labels");
    public Option<string> Endpoint { get; } = CliOptions.Text("--llm-endpoint", "an OpenAI-compatible endpoint (Azure OpenAI's .../openai/v1, Ollama's http://localhost:11434/v1, vLLM's http://host:8000/v1)", "url", LlmEndpoint.OpenAi.ToString());
    public Option<string> Model { get; } = CliOptions.Text("--llm-model", "the vision model", "name", VerifierOptions.DefaultModel);
    public Option<string> MaxCalls { get; } = CliOptions.Text("--max-llm-calls", "at most this many model calls; the boxes left stay as they are and are counted (default: no limit)", "n");
    public Option<string> VerifyBelow { get; } = CliOptions.Text("--verify-below", "ask only about boxes whose score is below this (boxes without a score are always asked)", "score");
    public Option<double> CropPadding { get; } = CliOptions.Number("--crop-padding", "context around each crop, as a fraction of the box each side (the block: 0)", s_crop.Padding, "fraction");
    public Option<double> MinCropSize { get; } = CliOptions.Number("--min-crop-size", "crops with a shorter side below this many pixels are upscaled to it (0: never)", s_crop.MinSide, "pixels");
    public Option<double> Timeout { get; } = CliOptions.Number("--llm-timeout", "seconds one model call may take before it is retried", 60, "seconds");
    public Option<double> Retries { get; } = CliOptions.Number("--llm-retries", "retries of a call after 429, 5xx or a timeout (with backoff, honouring Retry-After)", 3, "n");

    public IReadOnlyList<Option> All =>
    [
        WhichLabels, Prompt, DisableLabels, ImageQuality, Concurrency, DataIdsFile, Labels, Endpoint, Model, MaxCalls, VerifyBelow, CropPadding,
        MinCropSize, Timeout, Retries,
    ];

    /// <summary>The key from <see cref="KeyVariable"/>; missing is a setup error (exit 1) naming it.</summary>
    public static string ReadKey() =>
        Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } key
            ? key
            : throw new JobSetupException($"Missing {KeyVariable}: set it to the model server's API key (any non-empty value for a local server that checks none)");

    /// <param name="freeTextByDefault">Without <c>--labels</c>, any answer becomes a label (the block's behaviour);
    /// otherwise the dataset's labels are the answers allowed.</param>
    public (VerifyRunOptions Run, LlmEndpoint Endpoint, long? MaxCalls) Read(ParseResult parsed, string apiKey, bool freeTextByDefault = false)
    {
        ImageDetail detail;
        try
        {
            detail = VerifierOptions.ParseDetail(parsed.GetValue(ImageQuality) ?? "auto");
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--image-quality must be auto, low or high, got '{parsed.GetValue(ImageQuality)}'");
        }
        var concurrency = parsed.GetValue(Concurrency);
        if (concurrency < 1 || concurrency > 1000 || concurrency != Math.Floor(concurrency))
        {
            throw new UsageException($"--concurrency must be a whole number from 1 to 1000, got {concurrency.ToString(CultureInfo.InvariantCulture)}");
        }
        var padding = parsed.GetValue(CropPadding);
        var minSide = parsed.GetValue(MinCropSize);
        if (padding is < 0 or > 2 || minSide is < 0 or > 4096)
        {
            throw new UsageException("--crop-padding must be from 0 to 2 and --min-crop-size from 0 to 4096");
        }
        var timeout = parsed.GetValue(Timeout);
        var retries = parsed.GetValue(Retries);
        if (timeout <= 0 || retries is < 0 or > 20)
        {
            throw new UsageException("--llm-timeout must be positive and --llm-retries from 0 to 20");
        }
        var endpointText = parsed.GetValue(Endpoint)!;
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new UsageException($"--llm-endpoint must be an http(s) URL, got '{endpointText}'");
        }
        var model = parsed.GetValue(Model) is { Length: > 0 } m ? m : throw new UsageException("--llm-model must not be empty");
        // Empty counts as absent: Studio may pass an optional parameter left blank.
        var labels = parsed.GetValue(Labels) is { } given && !string.IsNullOrWhiteSpace(given) ? given : null;
        IReadOnlyList<string>? allowed = labels?.Trim() == "*" ? [] : labels is null ? (freeTextByDefault ? [] : null) : VerifierOptions.SplitList(labels);
        if (allowed is { Count: 0 } && labels is not null && labels.Trim() != "*")
        {
            throw new UsageException("--labels names no label; give a comma list, or '*' for any answer");
        }
        var verifier = new VerifierOptions
        {
            Model = model,
            WhichLabels = VerifierOptions.SplitList(parsed.GetValue(WhichLabels)),
            Prompt = PromptGrammar.DecodeEscapedNewlines(parsed.GetValue(Prompt) ?? VerifierOptions.DefaultPrompt),
            DisableLabels = VerifierOptions.SplitList(parsed.GetValue(DisableLabels)),
            ImageQuality = detail,
            Concurrency = (int)concurrency,
            VerifyBelow = OptionalNumber(parsed, VerifyBelow, 0, 1),
            Crop = new CropOptions { Padding = padding, MinSide = (int)minSide },
        };
        var run = new VerifyRunOptions
        {
            Verifier = verifier,
            AllowedLabels = allowed,
            SampleIds = parsed.GetValue(DataIdsFile) is { } idsFile ? SampleIds.ReadFile(idsFile) : null,
        };
        var llm = new LlmEndpoint
        {
            Endpoint = endpoint,
            Model = model,
            ApiKey = apiKey,
            PerCallTimeout = TimeSpan.FromSeconds(timeout),
            MaxRetries = (int)retries,
        };
        var max = OptionalNumber(parsed, MaxCalls, 0, long.MaxValue);
        if (max is { } n && n != Math.Floor(n))
        {
            throw new UsageException($"--max-llm-calls must be a whole number, got {n.ToString(CultureInfo.InvariantCulture)}");
        }
        return (run, llm, max is { } limit ? (long)limit : null);
    }

    private static double? OptionalNumber(ParseResult parsed, Option<string> option, double min, double max)
    {
        if (parsed.GetValue(option) is not { } text || string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new UsageException($"{option.Name} must be a number from {min.ToString(CultureInfo.InvariantCulture)}{(max < long.MaxValue ? " to " + max.ToString(CultureInfo.InvariantCulture) : " up")}, got '{text}'");
    }

    /// <summary>The end of every run, as the block ends its: what was done, what the budget left, the calls and cache
    /// hits, and the token totals (Model / Input tokens / Output tokens).</summary>
    public static async Task PrintSummaryAsync(VerifyRunResult result, long? maxCalls, TextWriter stdout)
    {
        var verified = result.Samples.Count(s => !s.Failed);
        await stdout.WriteLineAsync($"verified {verified} sample(s): {result.Count(DecisionKind.Kept)} box(es) kept, {result.Count(DecisionKind.Relabelled)} relabelled, "
            + $"{result.Count(DecisionKind.Removed)} removed; {result.SamplesChanged} sample(s) changed").ConfigureAwait(false);
        var notAsked = result.Count(DecisionKind.NotSelected) + result.Count(DecisionKind.ScoreAbove) + result.Count(DecisionKind.OffImage);
        if (notAsked > 0)
        {
            await stdout.WriteLineAsync($"not asked: {result.Count(DecisionKind.NotSelected)} box(es) of other labels, {result.Count(DecisionKind.ScoreAbove)} at or above --verify-below, "
                + $"{result.Count(DecisionKind.OffImage)} outside their image").ConfigureAwait(false);
        }
        if (result.BudgetLeft > 0)
        {
            await stdout.WriteLineAsync($"--max-llm-calls {maxCalls} spent: {result.BudgetLeft} box(es) left as they are, not verified; run again to go on (answers so far are cached)").ConfigureAwait(false);
        }
        await stdout.WriteLineAsync($"model calls: {result.Calls}, cache hits: {result.CacheHits}").ConfigureAwait(false);
        await stdout.WriteLineAsync("LLM usage info:").ConfigureAwait(false);
        await stdout.WriteLineAsync($"    Model = {result.Model}").ConfigureAwait(false);
        await stdout.WriteLineAsync($"    Input tokens = {result.Usage.InputTokens}").ConfigureAwait(false);
        await stdout.WriteLineAsync($"    Output tokens = {result.Usage.OutputTokens}").ConfigureAwait(false);
    }

    /// <summary>The failed samples, one line each with the reason; exit 2 when there are any.</summary>
    public static async Task<int> PrintFailuresAsync(VerifyRunResult result, TextWriter stderr)
    {
        if (result.Failed.Count == 0)
        {
            return OwlboxCli.Ok;
        }
        await stderr.WriteLineAsync($"{result.Failed.Count} sample(s) failed (their boxes are unchanged):").ConfigureAwait(false);
        foreach (var f in result.Failed)
        {
            await stderr.WriteLineAsync($"  {f.SampleId}: {f.Reason}").ConfigureAwait(false);
        }
        return OwlboxCli.SamplesFailed;
    }

    /// <summary>Runs the verification; a setup error from the model server (wrong key, model or endpoint) is exit 1.</summary>
    public static async Task<VerifyRunResult> RunAsync(IDatasetBackend dataset, VerifyRunOptions run, LlmEndpoint llm, IAnswerCache cache, long? maxCalls, CancellationToken cancellationToken)
    {
        using var client = LlmClient.Create(llm);
        try
        {
            return await new DatasetVerification(dataset, client, cache, new CallBudget(maxCalls)).RunAsync(run, null, cancellationToken).ConfigureAwait(false);
        }
        catch (LlmCallException e)
        {
            throw new JobSetupException($"the model server at {llm.Endpoint} refused the run: {e.Message}");
        }
    }
}
