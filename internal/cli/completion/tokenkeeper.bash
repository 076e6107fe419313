# bash completion for tokenkeeper: source <(tokenkeeper completion bash)
#
# The words typed so far go to `tokenkeeper __complete WORDS… CURRENT`, which
# prints one candidate a line (a tab, then a description, may follow) and a
# last line ":N": N's bit 4 says "no file names", bit 16 "directories only".
_tokenkeeper() {
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n =: cur words cword
    else
        cur=${COMP_WORDS[COMP_CWORD]} words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local out directive line
    out=$("${words[0]}" __complete "${words[@]:1:cword}" 2>/dev/null) || return
    directive=${out##*:}
    out=${out%:*}
    COMPREPLY=()
    if (( directive & 16 )); then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return
    fi
    while IFS= read -r line; do
        [[ -n $line ]] && COMPREPLY+=("${line%%$'\t'*}")
    done <<<"$out"
    if [[ $cur == *=* && $COMP_WORDBREAKS == *=* ]]; then
        COMPREPLY=("${COMPREPLY[@]#"${cur%=*}="}") # bash replaces what follows the =
    fi
    if (( ${#COMPREPLY[@]} == 0 && !(directive & 4) )); then
        compopt -o default 2>/dev/null
    fi
}
complete -F _tokenkeeper tokenkeeper
