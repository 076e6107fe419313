#compdef tokenkeeper
# zsh completion for tokenkeeper: tokenkeeper completion zsh > "${fpath[1]}/_tokenkeeper"
#
# The words typed so far go to `tokenkeeper __complete WORDS… CURRENT`, which
# prints one candidate a line (a tab, then a description, may follow) and a
# last line ":N": N's bit 4 says "no file names", bit 16 "directories only".
_tokenkeeper() {
    local out directive line
    local -a lines cands
    out=$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    directive=${lines[-1]#:}
    lines=("${(@)lines[1,-2]}")
    if (( directive & 16 )); then
        _path_files -/
        return
    fi
    for line in "${lines[@]}"; do
        [[ -z $line ]] && continue
        if [[ $line == *$'\t'* ]]; then
            cands+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
        else
            cands+=("${line//:/\\:}")
        fi
    done
    if (( ${#cands} )); then
        _describe -t tokenkeeper tokenkeeper cands
    elif (( !(directive & 4) )); then
        _files
    fi
}
if [[ ${funcstack[1]} == _tokenkeeper ]]; then
    _tokenkeeper "$@"
else
    compdef _tokenkeeper tokenkeeper
fi
