namespace Owlbox.Contracts.V1;

/// <summary>Which dataset backend and where: ("local", folder path) or ("edge-impulse", project id).</summary>
public sealed record DatasetReference(string Kind, string Location);
