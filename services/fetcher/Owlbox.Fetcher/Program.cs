// Thin host: health endpoints now; its bus consumers arrive with the message-driven services issue.
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/healthz", () => Results.Ok(new { service = "fetcher", status = "ok" }));
await app.RunAsync();
