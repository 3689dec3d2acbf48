using System.Text.Json.Serialization;

namespace Owlbox.LlmEmulator;

/// <summary>What a faulty call does instead of answering.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FaultKind>))]
public enum FaultKind
{
    /// <summary>429 with OpenAI's rate-limit error body and a Retry-After header (<see cref="Fault.RetryAfterSeconds"/>).</summary>
    RateLimit,

    /// <summary>500 with OpenAI's server error body.</summary>
    ServerError,

    /// <summary>Never answers: waits until the client gives up and closes the request.</summary>
    Hang,

    /// <summary>200 with a body that is not JSON (cut off mid-object).</summary>
    MalformedJson,

    /// <summary>200 with <see cref="Fault.Answer"/> as the answer instead of the colour (e.g. one outside the allowed set).</summary>
    Answer,
}

public sealed record Fault
{
    public FaultKind Kind { get; init; }

    public int RetryAfterSeconds { get; init; } = 1;

    public string? Answer { get; init; }
}

/// <summary>
/// Faults to inject: by call number (1-based, every request to /v1/chat/completions counts, retries included) and by
/// the colour the crop shows (every call whose crop is that colour). A call-number fault wins over a colour fault.
/// </summary>
public sealed class EmulatorFaults
{
    public Dictionary<int, Fault> ByCall { get; init; } = [];

    public Dictionary<string, Fault> ByColour { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Added to every answered call, so concurrent calls overlap.</summary>
    public int LatencyMs { get; init; }

    /// <summary>Refuse <c>response_format</c> with a 400, as servers without structured output do.</summary>
    public bool RejectResponseFormat { get; init; }

    /// <summary>When set, holds calls past its count until released (see <see cref="EmulatorGate"/>).</summary>
    public EmulatorGate? Gate { get; set; }

    public Fault? For(int call, string colour) =>
        ByCall.TryGetValue(call, out var f) ? f : ByColour.TryGetValue(colour, out var c) ? c : null;
}

/// <summary>
/// Lets the first <paramref name="pass"/> calls that arrive after it is set through and holds every later one until
/// <see cref="Release"/> (or until the client gives up): a test waits on <see cref="Holding"/>, acts while the work
/// behind those calls is certainly unfinished (kills the caller, say), then releases. A signal, not a delay.
/// </summary>
public sealed class EmulatorGate(int pass)
{
    private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrived;

    /// <summary>Completes when a call past the first <c>pass</c> arrives and is held.</summary>
    public Task Holding => _holding.Task;

    public void Release() => _released.TrySetResult();

    /// <returns>False when the client gave up while the call was held.</returns>
    internal async Task<bool> PassAsync(CancellationToken aborted)
    {
        if (Interlocked.Increment(ref _arrived) <= pass)
        {
            return true;
        }
        _holding.TrySetResult();
        try
        {
            await _released.Task.WaitAsync(aborted).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>The reply shapes of the servers people run behind an OpenAI-compatible endpoint.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReplyFlavor>))]
public enum ReplyFlavor
{
    /// <summary>api.openai.com: refusal and annotations on the message, usage with token details, service_tier,
    /// system_fingerprint.</summary>
    OpenAi,

    /// <summary>Ollama's /v1 (0.5 and later): system_fingerprint "fp_ollama", plain usage, no logprobs.</summary>
    Ollama,

    /// <summary>vLLM's OpenAI server: reasoning_content and tool_calls on the message, stop_reason, prompt_logprobs,
    /// prompt_tokens_details null.</summary>
    Vllm,
}

/// <summary>One request as the emulator received it, for tests to read.</summary>
/// <param name="Number">1-based call number.</param>
/// <param name="Authorization">The Authorization header as sent.</param>
/// <param name="Body">The request body as sent.</param>
/// <param name="Colour">The colour the crop showed (null when no image could be read).</param>
/// <param name="Detail">The image_url.detail sent.</param>
/// <param name="Status">The status answered (0 for a hang the client abandoned).</param>
/// <param name="At">When it arrived.</param>
public sealed record EmulatorCall(int Number, string Authorization, string Body, string? Colour, string? Detail, int Status, DateTimeOffset At);

/// <summary>Live counters, for tests: calls being answered now and the most there ever were at once.</summary>
public sealed class EmulatorStats
{
    private int _inFlight;
    private int _maxInFlight;

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    internal void Enter()
    {
        var now = Interlocked.Increment(ref _inFlight);
        int max;
        while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
        {
        }
    }

    internal void Leave() => Interlocked.Decrement(ref _inFlight);
}
