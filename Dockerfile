# The Edge Impulse AI labeling block (and the services image: `owlbox serve --roles ...`).
# Before building, put the model exports the block offers (parameters.json) into ./models, exactly as downloaded:
#   tools/fetch-block-models.sh   (clones each model parameters.json offers, fp32 and int8 ONNX files only, git lfs)
# CPU image by default; for CUDA build with --build-arg FLAVOR=Gpu --build-arg BASE=nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04
ARG BASE=mcr.microsoft.com/dotnet/runtime-deps:10.0
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG FLAVOR=Cpu
WORKDIR /src
COPY . .
RUN dotnet publish app/Owlbox.Cli -c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -p:OnnxRuntimeFlavor=${FLAVOR} -o /app

FROM ${BASE}
WORKDIR /app
COPY --from=build /app /app
COPY models/ /models/
# The claim-check volume's mount point, owned by the service user (a named volume takes the ownership it finds here).
RUN mkdir -p /shared/images && chown -R 10001:10001 /shared
# Never root: the same numeric user the Kubernetes manifests run as (runAsUser 10001); files stay root-owned, read-only.
USER 10001:10001
ENV OWLBOX_MODEL=/models/owlv2-base-patch16-ensemble
ENTRYPOINT ["/app/owlbox", "block"]
