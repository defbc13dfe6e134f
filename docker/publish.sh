#!/usr/bin/env bash
# Builds the server into one folder that runs on the ASP.NET runtime alone: the app, TorchSharp's natives (with
# libLibTorchSharp.so patched for Debian 12's libstdc++ by Directory.Build.targets), the search page and the bundled
# demo model. The Dockerfile's build stage runs exactly this; CI runs it too and starts the result.
#   docker/publish.sh OUTPUT_DIR
set -euo pipefail
out=${1:?usage: docker/publish.sh OUTPUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)

dotnet publish "$root/src/LlavaCot.Server/LlavaCot.Server.csproj" -c Release -o "$out" --nologo -p:UseAppHost=false

for needed in LlavaCot.Server.dll libLibTorchSharp.so wwwroot/index.html models/demo/config.json models/demo/model.safetensors models/demo/llavacot.json; do
    if [ ! -e "$out/$needed" ]; then
        echo "publish: $needed is missing from $out" >&2
        exit 1
    fi
done
echo "publish: $out is ready (dotnet $out/LlavaCot.Server.dll)"
