namespace Owlbox.Labeling.Evaluation;

/// <summary>A calibration's result as <c>owlbox calibrate --json</c> prints it and the dataset's
/// <c>.owlbox/calibration.json</c> keeps it for the review page.</summary>
/// <param name="Images">Labeled images the detector ran on (an image that failed to decode is left out).</param>
/// <param name="Prompt">The prompt with each calibrated label's threshold filled in (<see cref="ThresholdCalibration.WriteBack"/>).</param>
public sealed record CalibrationReport(double TargetPrecision, int Images, string Model, DateTimeOffset CreatedUtc, IReadOnlyList<LabelThreshold> Labels, string Prompt);
