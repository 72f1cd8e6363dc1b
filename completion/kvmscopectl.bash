# SPDX-License-Identifier: GPL-2.0-only
# bash completion for kvmscopectl: verbs, options, and from the daemon the
# pids of its VMs (--pid) and the names of its livepatches (patch ACTION).
# Plain bash (no bash-completion helpers needed); installed by make install
# as /usr/share/bash-completion/completions/kvmscopectl.

_kvmscopectl_ask()
{
	# The same socket the command line names, quietly; nothing when the daemon is away.
	local sock=$1
	shift
	kvmscopectl ${sock:+--socket "$sock"} --timeout 2 "$@" 2>/dev/null
}

_kvmscopectl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local verb= action= sock= i w
	local verbs="status vms exits ioctls launch patch kmod events top metrics call"
	local globals="--socket --timeout --json --help --version"

	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--socket) sock=${COMP_WORDS[i + 1]}; ((i++)); continue ;;
		--timeout|--pid|--vcpu|--hist|--wait|--reason|--sample|--topic|--count|-d|--interval|-n|--iterations|--seconds|--cpus)
			((i++)); continue ;;
		-*) continue ;;
		esac
		if [ -z "$verb" ]; then
			verb=$w
		elif [ -z "$action" ]; then
			action=$w
		fi
	done

	case $prev in
	--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--pid)
		COMPREPLY=($(compgen -W "$(_kvmscopectl_ask "$sock" vms | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }')" -- "$cur"))
		return ;;
	--topic) COMPREPLY=($(compgen -W "vm exit launch ioctl livepatch textpoke" -- "$cur")); return ;;
	--hist) COMPREPLY=($(compgen -W "io hlt npf msr cpuid interrupt vmmcall user:IO user:HLT user:MMIO" -- "$cur")); return ;;
	--timeout|--vcpu|--wait|--reason|--sample|--count|-d|--interval|-n|--iterations|--seconds|--cpus) return ;;
	esac

	if [ -z "$verb" ]; then
		COMPREPLY=($(compgen -W "$verbs $globals" -- "$cur"))
		return
	fi
	case $verb in
	exits) COMPREPLY=($(compgen -W "--pid --vcpu --detail --hist $globals" -- "$cur")) ;;
	ioctls) COMPREPLY=($(compgen -W "--pid --vcpu $globals" -- "$cur")) ;;
	launch) COMPREPLY=($(compgen -W "--pid $globals" -- "$cur")) ;;
	events) COMPREPLY=($(compgen -W "--pid --vcpu --reason --sample --topic --count --follow $globals" -- "$cur")) ;;
	top) COMPREPLY=($(compgen -W "--interval --once --batch --iterations --per-vcpu" -- "$cur")) ;;
	call)
		[ -z "$action" ] && COMPREPLY=($(compgen -W "status vms.list exits.get ioctls.get launch.get events.subscribe events.stats livepatch.list livepatch.get livepatch.load livepatch.enable livepatch.disable livepatch.unload livepatch.force ftrace.sites textpoke.get kmod.status kmod.canary kmod.canary_stop metrics" -- "$cur")) ;;
	patch)
		if [ -z "$action" ]; then
			COMPREPLY=($(compgen -W "list info sites load load-all enable disable unload force wait" -- "$cur"))
			return
		fi
		case $action in
		info|enable|disable|unload|force|wait)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "--wait --reverse-on-stall --yes --json" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "$(_kvmscopectl_ask "$sock" patch list | awk 'NR > 1 && $1 != "No" { print $1 }')" -- "$cur"))
			fi ;;
		load)
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "--wait --reverse-on-stall --json" -- "$cur"))
			else
				COMPREPLY=($(compgen -f -X '!*.ko' -- "$cur") $(compgen -d -- "$cur"))
			fi ;;
		load-all) COMPREPLY=($(compgen -W "--wait --reverse-on-stall --json" -- "$cur")) ;;
		esac ;;
	kmod)
		case $action in
		'') COMPREPLY=($(compgen -W "status canary" -- "$cur")) ;;
		canary) COMPREPLY=($(compgen -W "--seconds --cpus --stop --json" -- "$cur")) ;;
		status) COMPREPLY=($(compgen -W "--json" -- "$cur")) ;;
		esac ;;
	*) COMPREPLY=($(compgen -W "$globals" -- "$cur")) ;;
	esac
}

complete -F _kvmscopectl kvmscopectl
