using System.Text.Json;
using Owlbox.LlmEmulator;

// owlbox-llm-emulator [--urls http://127.0.0.1:5006] [--api-key KEY] [--flavor openai|ollama|vllm] [--faults faults.json]
string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.Error.WriteLine("usage: owlbox-llm-emulator [--urls http://127.0.0.1:5006] [--api-key KEY] [--flavor openai|ollama|vllm] [--faults faults.json]");
    return 2;
}
var flavor = (Arg("--flavor") ?? "openai").ToLowerInvariant() switch
{
    "openai" => ReplyFlavor.OpenAi,
    "ollama" => ReplyFlavor.Ollama,
    "vllm" => ReplyFlavor.Vllm,
    var f => throw new ArgumentException($"--flavor must be openai, ollama or vllm, not {f}"),
};
EmulatorFaults? faults = null;
if (Arg("--faults") is { } faultsFile)
{
    faults = JsonSerializer.Deserialize<EmulatorFaults>(File.ReadAllText(faultsFile), new JsonSerializerOptions(JsonSerializerDefaults.Web))
        ?? throw new ArgumentException($"{faultsFile}: not a faults object");
}
var urls = Arg("--urls") ?? "http://127.0.0.1:5006";
var app = LlmEmulatorApp.Build(Arg("--api-key"), [urls], faults, flavor);
Console.WriteLine($"LLM emulator ({flavor}) at {urls}/v1");
await app.RunAsync();
return 0;
