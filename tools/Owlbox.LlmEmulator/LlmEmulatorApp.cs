using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;

namespace Owlbox.LlmEmulator;

/// <summary>
/// <c>POST /v1/chat/completions</c> as OpenAI-compatible servers answer it, for a vision question about one picture:
/// the image is read from the user message's <c>image_url</c> content part (a <c>data:image/...;base64,</c> URL, as
/// OpenAI's API receives it), and the answer is its dominant colour (<see cref="ColourNamer"/>), as plain text or, when
/// <c>response_format</c> is <c>json_schema</c> or <c>json_object</c>, as <c>{"label": "red"}</c>. Usage counts image
/// tokens as OpenAI does (<see cref="ImageTokens"/>) plus text tokens at about four characters a token and OpenAI's
/// per-message overhead. A wrong bearer token gets 401 with an error that quotes the key in full (harsher than
/// OpenAI, which masks it), so tests prove the client never repeats what a server says about it.
/// </summary>
public static class LlmEmulatorApp
{
    public static WebApplication Build(string? apiKey, string[] urls, EmulatorFaults? faults = null, ReplyFlavor flavor = ReplyFlavor.OpenAi,
        ConcurrentQueue<EmulatorCall>? calls = null, EmulatorStats? stats = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(urls);
        faults ??= new EmulatorFaults();
        calls ??= new ConcurrentQueue<EmulatorCall>();
        stats ??= new EmulatorStats();
        var app = builder.Build();
        var count = 0;

        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            stats.Enter();
            try
            {
                return await AnswerAsync(http).ConfigureAwait(false);
            }
            finally
            {
                stats.Leave();
            }
        });
        return app;

        async Task<IResult> AnswerAsync(HttpContext http)
        {
            var at = DateTimeOffset.UtcNow;
            var n = Interlocked.Increment(ref count);
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(http.RequestAborted);
            var auth = http.Request.Headers.Authorization.ToString();
            IResult Record(IResult result, int status, string? colour = null, string? detail = null)
            {
                calls.Enqueue(new EmulatorCall(n, auth, body, colour, detail, status, at));
                return result;
            }

            if (apiKey is not null && auth != "Bearer " + apiKey)
            {
                var given = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth["Bearer ".Length..] : auth;
                return Record(Error(401, $"Incorrect API key provided: {given}. You can find your API key at https://platform.openai.com/account/api-keys.",
                    "invalid_request_error", "invalid_api_key"), 401);
            }
            JsonObject request;
            try
            {
                request = JsonNode.Parse(body)?.AsObject() ?? throw new JsonException("empty body");
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                return Record(Error(400, $"We could not parse the JSON body of your request. ({e.Message})", "invalid_request_error", null), 400);
            }
            var model = request["model"]?.GetValue<string>() ?? "";
            if (faults.RejectResponseFormat && request["response_format"] is not null)
            {
                return Record(Error(400, "response_format is not supported by this server", "invalid_request_error", null), 400);
            }
            if (!TryReadImage(request, out var image, out var detail, out var text, out var problem))
            {
                return Record(Error(400, problem, "invalid_request_error", null), 400);
            }
            string colour;
            int imageTokens;
            using (var bitmap = SKBitmap.Decode(image))
            {
                if (bitmap is null)
                {
                    return Record(Error(400, "You uploaded an unsupported image. Please make sure your image is valid.", "invalid_request_error", "invalid_image_format"), 400);
                }
                colour = ColourNamer.Name(bitmap);
                imageTokens = ImageTokens.Count(bitmap.Width, bitmap.Height, detail);
            }
            if (faults.Gate is { } gate && !await gate.PassAsync(http.RequestAborted))
            {
                return Record(Results.Empty, 0, colour, detail); // held until the client gave up
            }
            var answer = colour;
            switch (faults.For(n, colour))
            {
                case { Kind: FaultKind.RateLimit } f:
                    http.Response.Headers.RetryAfter = f.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return Record(Error(429, "Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"), 429, colour, detail);
                case { Kind: FaultKind.ServerError }:
                    return Record(Error(500, "The server had an error while processing your request. Sorry about that!", "server_error", null), 500, colour, detail);
                case { Kind: FaultKind.Hang }:
                    calls.Enqueue(new EmulatorCall(n, auth, body, colour, detail, 0, at));
                    // Answers only when the client gives up (its timeout closes the connection).
                    await Task.Delay(Timeout.Infinite, http.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                    return Results.Empty;
                case { Kind: FaultKind.MalformedJson }:
                    return Record(Results.Text("{\"id\":\"chatcmpl-broken\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assis",
                        "application/json"), 200, colour, detail);
                case { Kind: FaultKind.Answer, Answer: { } forced }:
                    answer = forced;
                    break;
            }
            var format = request["response_format"]?["type"]?.GetValue<string>();
            var content = format is "json_schema" or "json_object" ? new JsonObject { ["label"] = answer }.ToJsonString() : answer;
            // Text at about four characters a token, plus OpenAI's 3 tokens per message and 3 priming the reply.
            var promptTokens = imageTokens + (text.Length + 3) / 4 + 3 + 3;
            var completionTokens = Math.Max(1, (content.Length + 3) / 4);
            if (faults.LatencyMs > 0)
            {
                await Task.Delay(faults.LatencyMs, http.RequestAborted);
            }
            return Record(Results.Text(Reply(flavor, n, model, content, promptTokens, completionTokens).ToJsonString(), "application/json"), 200, colour, detail);
        }
    }

    /// <summary>The user message's text and its one image (base64 data URL) with its detail.</summary>
    private static bool TryReadImage(JsonObject request, out byte[] image, out string? detail, out string text, out string problem)
    {
        (image, detail, text, problem) = ([], null, "", "");
        var parts = (request["messages"] as JsonArray)?
            .Where(m => m?["role"]?.GetValue<string>() == "user")
            .SelectMany(m => m?["content"] as JsonArray ?? [])
            .OfType<JsonObject>().ToList() ?? [];
        text = string.Concat(parts.Where(p => p["type"]?.GetValue<string>() == "text").Select(p => p["text"]?.GetValue<string>() ?? ""));
        var images = parts.Where(p => p["type"]?.GetValue<string>() == "image_url").ToList();
        if (images.Count != 1)
        {
            problem = $"The emulator expects exactly one image_url content part in the user message; it got {images.Count}.";
            return false;
        }
        var url = images[0]["image_url"]?["url"]?.GetValue<string>() ?? "";
        detail = images[0]["image_url"]?["detail"]?.GetValue<string>();
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        if (!url.StartsWith("data:image/", StringComparison.Ordinal) || comma < 0 || !url[..comma].EndsWith(";base64", StringComparison.Ordinal))
        {
            problem = "Invalid image_url: expected a data:image/...;base64, URL.";
            return false;
        }
        try
        {
            image = Convert.FromBase64String(url[(comma + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            problem = "Invalid base64 image data.";
            return false;
        }
    }

    private static IResult Error(int status, string message, string type, string? code) =>
        Results.Json(new { error = new { message, type, param = (string?)null, code } }, statusCode: status);

    private static JsonObject Reply(ReplyFlavor flavor, int n, string model, string content, int promptTokens, int completionTokens)
    {
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var total = promptTokens + completionTokens;
        return flavor switch
        {
            ReplyFlavor.Ollama => new JsonObject
            {
                ["id"] = $"chatcmpl-{n}",
                ["object"] = "chat.completion",
                ["created"] = created,
                ["model"] = model,
                ["system_fingerprint"] = "fp_ollama",
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = total },
            },
            ReplyFlavor.Vllm => new JsonObject
            {
                ["id"] = $"chatcmpl-{Guid.NewGuid():N}",
                ["object"] = "chat.completion",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject
                    {
                        ["role"] = "assistant",
                        ["reasoning_content"] = null,
                        ["content"] = content,
                        ["tool_calls"] = new JsonArray(),
                    },
                    ["logprobs"] = null,
                    ["finish_reason"] = "stop",
                    ["stop_reason"] = null,
                }),
                ["usage"] = new JsonObject
                {
                    ["prompt_tokens"] = promptTokens,
                    ["total_tokens"] = total,
                    ["completion_tokens"] = completionTokens,
                    ["prompt_tokens_details"] = null,
                },
                ["prompt_logprobs"] = null,
            },
            _ => new JsonObject
            {
                ["id"] = $"chatcmpl-emu{n:D6}",
                ["object"] = "chat.completion",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = content,
                        ["refusal"] = null,
                        ["annotations"] = new JsonArray(),
                    },
                    ["logprobs"] = null,
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject
                {
                    ["prompt_tokens"] = promptTokens,
                    ["completion_tokens"] = completionTokens,
                    ["total_tokens"] = total,
                    ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0, ["audio_tokens"] = 0 },
                    ["completion_tokens_details"] = new JsonObject
                    {
                        ["reasoning_tokens"] = 0,
                        ["audio_tokens"] = 0,
                        ["accepted_prediction_tokens"] = 0,
                        ["rejected_prediction_tokens"] = 0,
                    },
                },
                ["service_tier"] = "default",
                ["system_fingerprint"] = "fp_emulator",
            },
        };
    }
}
