using Owlbox.EdgeImpulseEmulator;

// owlbox-ei-emulator <data-folder> [--urls http://127.0.0.1:5005] [--api-key ei_...]
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: owlbox-ei-emulator <data-folder with images> [--urls http://127.0.0.1:5005] [--api-key ei_...]");
    return 2;
}
string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var app = EmulatorApp.Build(args[0], Arg("--api-key"), [Arg("--urls") ?? "http://127.0.0.1:5005"]);
Console.WriteLine($"Edge Impulse emulator serving {args[0]} at {Arg("--urls") ?? "http://127.0.0.1:5005"}/v1");
await app.RunAsync();
return 0;
