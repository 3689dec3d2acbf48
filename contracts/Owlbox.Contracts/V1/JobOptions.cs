namespace Owlbox.Contracts.V1;

/// <summary>Filters and policy, named after the Edge Impulse block's parameters; percentages are of the image area.</summary>
public sealed record JobOptions(
    double ScoreFloor,
    bool Nms,
    double NmsIouThreshold,
    bool ClassAgnosticNms,
    double IgnoreSmallerThanPercent,
    double IgnoreLargerThanPercent,
    string DeleteExisting);
