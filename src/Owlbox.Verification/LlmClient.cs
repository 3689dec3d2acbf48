using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using OpenAI;
using Polly;
using Polly.Timeout;

namespace Owlbox.Verification;

/// <summary>Where and how to reach an OpenAI-compatible chat completions endpoint.</summary>
public sealed record LlmEndpoint
{
    /// <summary>OpenAI's. Ollama: http://localhost:11434/v1; vLLM: http://host:8000/v1; llama.cpp and LM Studio
    /// likewise end in /v1.</summary>
    public static readonly Uri OpenAi = new("https://api.openai.com/v1");

    public Uri Endpoint { get; init; } = OpenAi;

    public string Model { get; init; } = VerifierOptions.DefaultModel;

    /// <summary>The bearer token (OPENAI_API_KEY). Local servers that check none still need a non-empty string.</summary>
    public required string ApiKey { get; init; }

    /// <summary>One attempt's limit: a call that has not answered by then is cancelled and retried.</summary>
    public TimeSpan PerCallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after the first attempt, on 408, 429, 5xx, timeouts and connection failures.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>First backoff (exponential with jitter after); a Retry-After header from the server wins.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>For tests: the handler under the retry handler (default a SocketsHttpHandler).</summary>
    public HttpMessageHandler? InnerHandler { get; init; }
}

/// <summary>A model call failed; the message is safe to show (the key is never in it, and no inner exception that
/// might quote it is attached).</summary>
public sealed class LlmCallException(string message, int? status) : Exception(message)
{
    /// <summary>The HTTP status, when the server answered one.</summary>
    public int? Status { get; } = status;

    /// <summary>Not the box's fault: a wrong key, a missing model or a wrong endpoint fails every box the same way,
    /// so the run should stop at setup rather than fail each sample.</summary>
    public bool IsSetupError => Status is 401 or 403 or 404;
}

/// <summary>
/// Builds the <see cref="IChatClient"/> the verifier talks to: OpenAI's .NET client (through Microsoft.Extensions.AI)
/// against any OpenAI-compatible endpoint, on an HttpClient whose resilience handler retries 429/5xx with exponential
/// backoff honouring Retry-After and limits each attempt (the OpenAI client's own retries are off, so there is one
/// retry policy). Failures surface as <see cref="LlmCallException"/> with the key scrubbed.
/// </summary>
public static class LlmClient
{
    public static IChatClient Create(LlmEndpoint endpoint)
    {
        if (string.IsNullOrEmpty(endpoint.ApiKey))
        {
            throw new ArgumentException("the API key is empty (set OPENAI_API_KEY; any non-empty value for a local server that checks none)", nameof(endpoint));
        }
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (endpoint.MaxRetries > 0) // Polly refuses 0 attempts: no retries is no retry strategy
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = endpoint.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = endpoint.BaseDelay,
                MaxDelay = TimeSpan.FromMinutes(2),
                ShouldRetryAfterHeader = true,
            });
        }
        var pipeline = builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = endpoint.PerCallTimeout }).Build();
        var handler = new ResilienceHandler(pipeline) { InnerHandler = endpoint.InnerHandler ?? new SocketsHttpHandler() };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var options = new OpenAIClientOptions
        {
            Endpoint = endpoint.Endpoint,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        var chat = new OpenAI.Chat.ChatClient(endpoint.Model, new ApiKeyCredential(endpoint.ApiKey), options).AsIChatClient();
        return new ScrubbingChatClient(chat, endpoint.ApiKey);
    }

    /// <summary>Takes the key out of a text (a server may echo it, in full or as OpenAI's masked "sk-ab***yz").</summary>
    internal static string Scrub(string text, string secret) =>
        secret.Length == 0 ? text : text.Replace(secret, "***", StringComparison.Ordinal);

    private sealed class ScrubbingChatClient(IChatClient inner, string secret) : DelegatingChatClient(inner)
    {
        public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default)
        {
            try
            {
                return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            }
            catch (ClientResultException e)
            {
                // Scrubbed before it is cut short, so a cut cannot leave half a key behind.
                throw new LlmCallException($"the model server answered HTTP {e.Status}: {Compact(Scrub(e.Message, secret))}", e.Status);
            }
            catch (TimeoutRejectedException e)
            {
                throw new LlmCallException($"the model did not answer within {e.Timeout.TotalSeconds:0.##} s", null);
            }
            catch (HttpRequestException e)
            {
                throw new LlmCallException(Scrub($"could not reach the model server: {e.Message}", secret), (int?)e.StatusCode);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or ArgumentException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw new LlmCallException(Scrub($"the model server's reply could not be read: {e.Message}", secret), null);
            }
        }

        public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
            ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("the verifier does not stream");

        /// <summary>The server's error on one line, cut at 300 characters (a body can be a whole HTML page).</summary>
        private static string Compact(string s)
        {
            var line = string.Join(' ', s.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim()));
            return line.Length <= 300 ? line : line[..300] + "...";
        }
    }
}
