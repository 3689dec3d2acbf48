using System.Collections.Concurrent;
using Owlbox.Datasets;
using Owlbox.Pipeline;
using Owlbox.Verification;

namespace Owlbox.Verifier;

/// <summary>The job's verification stage cannot run in this process (no key): each of its samples fails with this.</summary>
public sealed class VerifierSetupException(string message) : Exception(message);

/// <summary>One <see cref="BoxVerifier"/> per job and process: the job's endpoint, model, question and allowed answers
/// (the prompt's labels plus the disable word), its call budget, this process's key, answer cache and rate.</summary>
public sealed class JobVerifiers(VerifierServiceOptions options)
{
    /// <summary>The answers that remove a box (the relabel block's default).</summary>
    public static IReadOnlyList<string> DisableLabels => LabelQuestion.DisableLabels;

    private readonly ConcurrentDictionary<Guid, Lazy<BoxVerifier>> _verifiers = new();

    /// <exception cref="VerifierSetupException">No key in this process's environment, or the endpoint is not a URL.</exception>
    public BoxVerifier For(JobPlan job)
    {
        if (_verifiers.Count > 256)
        {
            _verifiers.Clear(); // only bounds a long-running process; a later sample of an old job builds its own again
        }
        try
        {
            return _verifiers.GetOrAdd(job.JobId, _ => new Lazy<BoxVerifier>(() => Create(job))).Value;
        }
        catch (VerifierSetupException)
        {
            _verifiers.TryRemove(job.JobId, out _); // the key may be set by the next delivery's time
            throw;
        }
    }

    /// <summary>The verifier's settings for a job (pure: the tests read them).</summary>
    public VerifierOptions OptionsFor(JobPlan job)
    {
        var spec = job.Spec.Verification ?? throw new InvalidOperationException($"job {job.JobId} asks for no verification");
        var labels = job.Prompt.Labels;
        return new VerifierOptions
        {
            Model = spec.Model,
            WhichLabels = [], // every detection below verify-below, whatever its label
            Prompt = LabelQuestion.Ask(spec.Prompt, labels),
            DisableLabels = DisableLabels,
            AllowedLabels = labels,
            VerifyBelow = spec.VerifyBelow,
            Concurrency = options.Concurrency,
        };
    }

    private BoxVerifier Create(JobPlan job)
    {
        var spec = job.Spec.Verification!;
        var key = Environment.GetEnvironmentVariable(options.ApiKeyVariable);
        if (string.IsNullOrEmpty(key))
        {
            throw new VerifierSetupException($"{options.ApiKeyVariable} is not set in the verifier's environment (any non-empty value for a local server that checks none)");
        }
        if (!Uri.TryCreate(spec.Endpoint, UriKind.Absolute, out var endpoint))
        {
            throw new VerifierSetupException($"the job's LLM endpoint '{spec.Endpoint}' is not an absolute URL");
        }
        var client = LlmClient.Create(new LlmEndpoint
        {
            Endpoint = endpoint,
            Model = spec.Model,
            ApiKey = key,
            PerCallTimeout = options.PerCallTimeout,
            MaxRetries = options.MaxRetries,
            BaseDelay = options.RetryBaseDelay,
        });
        return new BoxVerifier(client, OptionsFor(job), CacheFor(job), new CallBudget(spec.MaxCalls));
    }

    /// <summary>The deployment's cache folder, else a local dataset's own <c>.owlbox/llm-answers</c> (never through a
    /// link), else none.</summary>
    private IAnswerCache CacheFor(JobPlan job)
    {
        if (!string.IsNullOrWhiteSpace(options.CacheDirectory))
        {
            return new FileAnswerCache(options.CacheDirectory);
        }
        return job.Spec.Dataset.Kind == "local" && OwlboxFolder.TryPathOf(job.Spec.Dataset.Location, out _, "llm-answers") is { } folder
            ? new FileAnswerCache(folder)
            : NoAnswerCache.Instance;
    }
}
