using MassTransit;

namespace Owlbox.Contracts.V1;

/// <summary>A job's verification stage (<c>owlbox label --verify-below</c>): its detections scored below
/// <paramref name="VerifyBelow"/> are shown to a vision language model, which keeps, relabels or removes each.
/// The key is not here: the verifier's process reads it from its own environment (OPENAI_API_KEY).</summary>
/// <param name="Endpoint">An OpenAI-compatible base URL (OpenAI's, Azure OpenAI's v1, Ollama, vLLM, ...).</param>
/// <param name="Prompt">The question sent with each crop; null asks which of the prompt's labels it shows.</param>
/// <param name="MaxCalls">At most this many model calls for the job in each verifier process; null: no cap.</param>
public sealed record VerificationSpec(double VerifyBelow, string Endpoint, string Model, string? Prompt = null, int? MaxCalls = null);

/// <summary>A sample's detections, some scored below the job's verify-below, on their way to the verifier (queue
/// <c>verify-sample</c>) with the image they were found in, for the crops. Only jobs that ask for verification send
/// it, and only for samples with a box to ask about; every other result goes to the writer as it is.</summary>
public sealed record VerifySample(Guid JobId, SampleDetected Detected, MessageData<byte[]> Image) : IJobMessage;

/// <summary>What the verifier made of one detection it judged (the wire form of a proposal set's verdict; the label
/// after is the detection's): <paramref name="Box"/> its position among the sample's detections as the detector found
/// them, <paramref name="Verdict"/> kept, relabelled or removed, <paramref name="From"/> the label before, the model, its
/// raw answer, its reason and the verdict in words.</summary>
public sealed record DetectionVerdict(int Box, string Verdict, string From, string Model, string? Answer, string? Reason, string Text);

/// <summary>A sample's model calls: calls made, answers from the cache, tokens, and boxes the budget left unasked.</summary>
public sealed record VerificationUsage(int Calls, int CacheHits, long InputTokens, long OutputTokens, int LeftByBudget)
{
    public static readonly VerificationUsage None = new(0, 0, 0, 0, 0);

    public VerificationUsage Add(VerificationUsage o) =>
        new(Calls + o.Calls, CacheHits + o.CacheHits, InputTokens + o.InputTokens, OutputTokens + o.OutputTokens, LeftByBudget + o.LeftByBudget);
}
