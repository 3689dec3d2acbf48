using System.Text.Json.Serialization;

namespace Owlbox.EdgeImpulse;

/// <summary>JSON shapes of the Studio API (camelCase on the wire). Only the fields Owlbox reads or writes.</summary>
public sealed record StudioProject(int Id, string Name);

/// <summary>Studio's API takes integer pixels, but a project can hold fractional boxes (from uploads and other tools):
/// they are read rounded to the nearest pixel instead of failing the whole listing.</summary>
public sealed record StudioBoundingBox(
    string Label,
    [property: JsonConverter(typeof(RoundedPixelConverter))] int X,
    [property: JsonConverter(typeof(RoundedPixelConverter))] int Y,
    [property: JsonConverter(typeof(RoundedPixelConverter))] int Width,
    [property: JsonConverter(typeof(RoundedPixelConverter))] int Height);

/// <summary>Sample ids are 64-bit in Studio.</summary>
public sealed record StudioSample(
    long Id,
    string Filename,
    string Category,
    string Label,
    IReadOnlyList<StudioBoundingBox> BoundingBoxes,
    IReadOnlyDictionary<string, string>? Metadata,
    bool IsDisabled);

public sealed record StudioProposedChanges(
    IReadOnlyList<StudioBoundingBox>? BoundingBoxes,
    IReadOnlyDictionary<string, string>? Metadata,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? IsDisabled = null);

internal sealed record ProjectsResponse(bool Success, string? Error, IReadOnlyList<StudioProject>? Projects);

internal sealed record SamplesResponse(bool Success, string? Error, IReadOnlyList<StudioSample>? Samples, int TotalCount);

internal sealed record SampleResponse(bool Success, string? Error, StudioSample? Sample);

internal sealed record GenericResponse(bool Success, string? Error);

/// <summary>Reads any JSON number as the nearest integer pixel (half away from zero); writes integers.</summary>
public sealed class RoundedPixelConverter : JsonConverter<int>
{
    public override int Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        reader.TryGetInt32(out var i) ? i : checked((int)Math.Round(reader.GetDouble(), MidpointRounding.AwayFromZero));

    public override void Write(System.Text.Json.Utf8JsonWriter writer, int value, System.Text.Json.JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
