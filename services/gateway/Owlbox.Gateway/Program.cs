// Thin host: health endpoints now; the HTTP job API arrives with the message-driven services issue.
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/healthz", () => Results.Ok(new { service = "gateway", status = "ok" }));
await app.RunAsync();
