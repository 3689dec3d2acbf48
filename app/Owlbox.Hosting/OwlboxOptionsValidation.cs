using Microsoft.Extensions.Options;

namespace Owlbox.Hosting;

/// <summary><see cref="OwlboxOptions.Validate"/> for the concerns a command uses, as the options framework runs it.</summary>
public sealed class OwlboxOptionsValidation(OwlboxConcerns concerns) : IValidateOptions<OwlboxOptions>
{
    public ValidateOptionsResult Validate(string? name, OwlboxOptions options) =>
        options.Validate(concerns).ToArray() is { Length: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
