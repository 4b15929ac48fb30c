# bash completion for gatewayctl: commands, their options, and device ids
# and incident numbers from the gateway that -c (or the default) names.
# Installed as /usr/share/bash-completion/completions/gatewayctl.

_gatewayctl_ini() {
	local i
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -c ]]; then
			echo "${COMP_WORDS[i + 1]}"
			return
		fi
	done
	echo /etc/community-gateway/gateway.ini
}

# Device ids of one class (a driver name pattern), from [device ID].
_gatewayctl_devices() {
	local ini want=$1
	ini=$(_gatewayctl_ini)
	[[ -r $ini ]] || return
	awk -v want="$want" '
		/^[ \t]*\[device[ \t]+/ {
			id = $0; sub(/^[ \t]*\[device[ \t]+/, "", id)
			sub(/[ \t]*\].*/, "", id); next_id = id; next
		}
		/^[ \t]*driver[ \t]*=/ && next_id != "" {
			d = $0; sub(/^[^=]*=[ \t]*/, "", d); sub(/[ \t;#].*/, "", d)
			if (want == "" || d ~ want) print next_id
			next_id = ""
		}' "$ini"
}

_gatewayctl() {
	local cur prev cmd i
	local commands="status check reload events explain visitor open incidents ack resolve fire charger report broker help"
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [[ $prev == -c ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "-c $commands" -- "$cur"))
		return
	fi
	case $prev in
	--device) COMPREPLY=($(compgen -W "$(_gatewayctl_devices '')" -- "$cur")); return ;;
	--kind) COMPREPLY=($(compgen -W "access vehicle camera charging alarm device incident system" -- "$cur")); return ;;
	esac
	case $cmd in
	status | check | reload | incidents) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
	events) COMPREPLY=($(compgen -W "--since --until --device --kind --person --plate --household --follow --limit --json --help" -- "$cur")) ;;
	explain) COMPREPLY=($(compgen -W "--at --json --help $(_gatewayctl_devices 'face_gate|barrier')" -- "$cur")) ;;
	visitor) COMPREPLY=($(compgen -W "add list remove --host --name --plate --person --card --from --until --entries --id --json --help" -- "$cur")) ;;
	open) COMPREPLY=($(compgen -W "--operator --reason --json --help $(_gatewayctl_devices 'face_gate|barrier')" -- "$cur")) ;;
	ack | resolve) COMPREPLY=($(compgen -W "--operator --note --json --help" -- "$cur")) ;;
	fire) COMPREPLY=($(compgen -W "reset test --operator --seconds --json --help" -- "$cur")) ;;
	charger) COMPREPLY=($(compgen -W "start stop --limit --operator --json --help $(_gatewayctl_devices '^charger')" -- "$cur")) ;;
	report) COMPREPLY=($(compgen -W "daily --date --send --json --help" -- "$cur")) ;;
	broker) COMPREPLY=($(compgen -d -- "$cur")) ;;
	esac
}
complete -F _gatewayctl gatewayctl
