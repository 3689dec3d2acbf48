using System.Text.Json.Serialization;

namespace Owlbox.EdgeImpulse;

/// <summary>JSON shapes of the Studio API (camelCase on the wire). Only the fields Owlbox reads or writes.</summary>
public sealed record StudioProject(int Id, string Name);

public sealed record StudioBoundingBox(string Label, int X, int Y, int Width, int Height);

public sealed record StudioSample(
    int Id,
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
