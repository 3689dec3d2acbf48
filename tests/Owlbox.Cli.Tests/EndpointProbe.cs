using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Owlbox.TestSupport;

/// <summary>
/// Every route a running app serves, read from its endpoint data sources (so a route added later is probed without
/// anyone listing it), and the ways a client may spell its path: other letter cases, percent-encoded letters, a
/// trailing slash, a dot segment (all of which reach the same endpoint), an encoded or doubled slash (which must not).
/// Shared by the gateway's tests (Owlbox.Cli.Tests) and the review server's (Owlbox.Review.Tests, linked).
/// </summary>
public static class EndpointProbe
{
    public sealed record Route(RouteEndpoint Endpoint, string Method, bool Anonymous)
    {
        public string Pattern => Endpoint.RoutePattern.RawText ?? "";

        public override string ToString() => $"{Method} {Pattern}";
    }

    /// <summary>A spelling of a route's path; <see cref="Routes"/>: the server must take it for the route.</summary>
    public sealed record Spelling(string Path, bool Routes);

    public static IReadOnlyList<Route> Routes(IEndpointRouteBuilder app) =>
        app.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST"])
                .Select(m => new Route(e, m, e.Metadata.GetMetadata<IAllowAnonymous>() is not null)))
            .ToArray();

    /// <summary>The route's path with its parameters filled from <paramref name="values"/>, spelt every way.</summary>
    public static IReadOnlyList<Spelling> Spellings(Route route, IReadOnlyDictionary<string, string> values)
    {
        var pattern = route.Endpoint.RoutePattern;
        string Build(Func<string, string> literal, string separator = "/") =>
            "/" + string.Join(separator, pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
            {
                RoutePatternLiteralPart l => literal(l.Content),
                RoutePatternSeparatorPart s => s.Content,
                RoutePatternParameterPart p => values.TryGetValue(p.Name, out var v)
                    ? v
                    : throw new InvalidOperationException($"no plausible value for route parameter '{p.Name}' of {pattern.RawText}: add one to the test"),
                _ => throw new InvalidOperationException($"unexpected route part in {pattern.RawText}"),
            }))));
        var canonical = Build(l => l);
        var spellings = new List<Spelling>
        {
            new(canonical, true),
            new(Build(l => l.ToUpperInvariant()), true),
            new(Build(Alternate), true),
            new(canonical.TrimEnd('/') + "/", true),
            new(Build(l => l.ToUpperInvariant()).TrimEnd('/') + "/", true),
            new(Build(l => l.Length == 0 ? l : $"%{(int)l[0]:x2}{l[1..]}"), true), // /%761/jobs
            new(Build(l => string.Concat(l.Select(c => $"%{(int)c:X2}"))), true),
            new("/." + canonical, true),
            new("/" + canonical, false),
        };
        if (pattern.PathSegments.Count > 1)
        {
            spellings.Add(new(Build(l => l, "%2F"), false)); // /api%2Fstate: one segment, no route
            spellings.Add(new(Build(Alternate, "%2f"), false));
        }
        return spellings.DistinctBy(s => s.Path).ToArray();
    }

    private static string Alternate(string text) =>
        string.Concat(text.Select((c, i) => i % 2 == 0 ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c)));

    /// <summary>A request whose path goes on the wire exactly as written (no unescaping or dot-segment removal).</summary>
    public static HttpRequestMessage Request(Uri server, string method, string pathAndQuery) =>
        new(new HttpMethod(method), new Uri(server.GetLeftPart(UriPartial.Authority) + pathAndQuery,
            new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));

    /// <summary>A JSON body of the given length that records whether it was sent (with <c>Expect: 100-continue</c>:
    /// whether the server asked for it).</summary>
    public sealed class OversizedContent : HttpContent
    {
        private readonly long _length;

        public OversizedContent(long length)
        {
            _length = length;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        public bool Sent { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            Sent = true;
            var chunk = new byte[64 * 1024];
            for (var left = _length; left > 0; left -= chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
