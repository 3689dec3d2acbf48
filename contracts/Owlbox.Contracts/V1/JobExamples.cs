namespace Owlbox.Contracts.V1;

/// <summary>The example boxes a job's <c>[label]</c> prompt lines stand for, gathered once at submission and stored
/// with the job: the detector fetches their images from <paramref name="Dataset"/> once and turns each box into a
/// query. <paramref name="Dataset"/> is the job's own dataset unless the examples were taken from another.</summary>
public sealed record JobExamples(DatasetReference Dataset, IReadOnlyList<ExampleBox> Boxes);

/// <summary>One example: a box in pixels on a sample of <see cref="JobExamples.Dataset"/>, under the label it is an
/// example of.</summary>
public sealed record ExampleBox(string SampleId, string Label, int X, int Y, int Width, int Height);
